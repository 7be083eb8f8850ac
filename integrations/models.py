import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# External case ids (the case system's own ids), as accepted in API paths and the go-live import.
EXTERNAL_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"


class ApiClient(models.Model):
    """A system (the case system) calling the REST API. Its token is shown once, at creation, and only
    a SHA-256 of its secret part is kept. `user` is a service account that can never log in: it is
    the actor in the audit trail and the reader in the access log for everything the client does."""

    class Scope(models.TextChoices):
        CASES_READ = "cases:read", _("Read cases and thread metadata")
        CASES_WRITE = "cases:write", _("Create, update and close cases")
        MESSAGES_CONTENT = "messages:content", _("Read message content")
        # The case-file PDF holds message content: receiving it is a scope of its own.
        CASE_FILE = "casefile:write", _("Receive documents for the case file and acknowledge them")

    name = models.SlugField(_("name"), max_length=60, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client")
    # Tokens look like "lm.<key_id>.<secret>": the key id finds the row with one indexed lookup, the
    # secret is compared by hash in constant time.
    key_id = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    # Webhooks: sent (signed with webhook_secret) to webhook_url when set.
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class WebhookDelivery(models.Model):
    """One event for one client, until its receiver has answered 2xx or the attempts run out.
    The id is sent as X-Lifemsg-Delivery so that a receiver can drop duplicates."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="webhook_deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt may start; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_pending_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.client_id} ({self.status})"


class ThreadExport(models.Model):
    """A citizen thread (or chosen messages) exported as PDF to the case file (journalförd)."""

    thread = models.ForeignKey("mailboxes.Thread", on_delete=models.PROTECT, related_name="exports")
    case = models.ForeignKey("eservices.Case", on_delete=models.PROTECT, related_name="exports")
    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    exported_at = models.DateTimeField(_("exported"), default=timezone.now)
    message_ids = models.JSONField(default=list)
    whole_thread = models.BooleanField(default=True)
    # SHA-256 of the PDF handed out, so a copy in the case file can be matched to this row.
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-exported_at", "-id"]
        verbose_name = _("export to case file")
        verbose_name_plural = _("exports to case file")
        indexes = [models.Index(fields=["thread", "-exported_at"])]

    def __str__(self) -> str:
        return f"{self.thread_id} @ {self.exported_at:%Y-%m-%d %H:%M}"

    @property
    def message_count(self) -> int:
        return len(self.message_ids)


class CaseFileEntry(models.Model):
    """A citizen thread (or chosen messages) journalled to the case system as PDF/A: from the
    handler's request to the case system's receipt (integrations.casefile). The id is the delivery's
    `webhook-id`, the same on every attempt, so the case system files a document once.

    The PDF is kept only while it is on its way: cleared once the case system has acknowledged it
    (the case file holds it from then on; `sha256` matches it) or the attempts have run out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        DELIVERED = "delivered", _("Received, waiting for receipt")
        ACKNOWLEDGED = "acknowledged", _("Journalled")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey("mailboxes.Thread", on_delete=models.PROTECT, related_name="case_file_entries")
    case = models.ForeignKey("eservices.Case", on_delete=models.PROTECT, related_name="case_file_entries")
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="case_file_entries")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    # The export form's one-time key: a double click or a resent form journals once.
    request_key = models.UUIDField(unique=True)
    message_ids = models.JSONField(default=list)
    whole_thread = models.BooleanField(default=True)
    pdf = models.BinaryField(editable=False, null=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt may start; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The case system's own id of the filed document (its receipt).
    document_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("case-file entry")
        verbose_name_plural = _("case-file entries")
        indexes = [
            models.Index(fields=["thread", "-requested_at"], name="casefile_thread_idx"),
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="casefile_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.client_id} ({self.status})"

    @property
    def message_count(self) -> int:
        return len(self.message_ids)
