from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AppendOnlyError(Exception):
    """An attempt to change or delete audit rows (access log, change log) outside retention."""


class AuditEventQuerySet(models.QuerySet):
    # The ORM refuses before the database does (the triggers of migration 0005 are the real guard).
    def update(self, **kwargs):
        raise AppendOnlyError("The change log is append-only.")

    def delete(self):
        raise AppendOnlyError("The change log is append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("The change log is append-only.")


class AuditEvent(models.Model):
    """A change someone made: absence, forwarding, membership, roles, case assignment, retention.
    Append-only like the access log (the database refuses UPDATE and DELETE: migration 0005)."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64)
    target_id = models.CharField(_("target id"), max_length=64)
    target_repr = models.CharField(_("target"), max_length=255, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert") and not self._state.adding:
            raise AppendOnlyError("The change log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The change log is append-only.")


class AccessLogQuerySet(models.QuerySet):
    # The ORM refuses before the database does (the trigger from migration 0003 is the real guard).
    def update(self, **kwargs):
        raise AppendOnlyError("The access log is append-only.")

    def delete(self):
        raise AppendOnlyError("The access log is append-only; only retention removes old entries.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("The access log is append-only.")


class AccessLogEntry(models.Model):
    """One staff read (or export, print, forward) of citizen data. Append-only and hash-chained:
    `entry_hash` = HMAC(key, prev_hash + key id + canonical fields) with the key named by
    `hmac_key_id` (audit.chain), so an altered, re-hashed or removed row breaks the chain."""

    class Action(models.TextChoices):
        READ_THREAD = "read_thread", _("Read thread")
        READ_MESSAGE = "read_message", _("Read message")
        DOWNLOAD_ATTACHMENT = "download_attachment", _("Downloaded attachment")
        EXPORT = "export", _("Exported")
        PRINT = "print", _("Printed")
        FORWARD = "forward", _("Forwarded")
        SEARCH = "search", _("Searched")
        # Actions on citizen data besides reading (issue 24): each names the citizen and case too.
        SEND = "send", _("Sent to citizen")
        REPLY = "reply", _("Replied to citizen")
        NOTE = "note", _("Added internal note")
        TAKE = "take", _("Took thread")
        RELEASE = "release", _("Released thread")
        HANDLED = "handled", _("Marked as handled")
        REOPEN = "reopen", _("Reopened")
        MARK_READ = "mark_read", _("Marked as read")
        MARK_UNREAD = "mark_unread", _("Marked as unread")
        ASSIGN = "assign", _("Assigned case")

    class Route(models.TextChoices):
        OWN_MAILBOX = "own_mailbox", _("Own mailbox")
        GROUP_MAILBOX = "group_mailbox", _("Group mailbox")
        FORWARDING = "forwarding", _("Forwarding")
        ASSIGNED_CASE = "assigned_case", _("Assigned case")
        LOG_REVIEW = "log_review", _("Log review")
        API = "api", _("API")
        CASE_MANAGEMENT = "case_management", _("Case management")

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    user_units = models.CharField(max_length=500, blank=True)
    user_roles = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    route = models.CharField(max_length=32, choices=Route.choices)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField(null=True, blank=True)
    thread_id = models.BigIntegerField(null=True, blank=True)
    mailbox_id = models.BigIntegerField(null=True, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True)
    unit_id = models.BigIntegerField(null=True, blank=True)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    # NULL: written before the chain was keyed (plain SHA-256; audit.chain.entry_problem).
    hmac_key_id = models.CharField(max_length=16, null=True, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        indexes = [
            models.Index(fields=["citizen", "at"]),
            models.Index(fields=["user", "at"]),
            # Log review filters by the unit read and joins case teams by case id.
            models.Index(fields=["unit_id", "at"], name="accesslog_unit_at_idx"),
            models.Index(fields=["case_id"], name="accesslog_case_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert") and not self._state.adding:
            raise AppendOnlyError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The access log is append-only; only retention removes old entries.")


class AccessLogHead(models.Model):
    """The single row that serialises appends to the chain (locked FOR UPDATE by each append)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class AccessLogPruning(models.Model):
    """One run of access-log retention. Retention removes only a prefix of the chain; this row is the
    anchor from which the remainder is verified: the first remaining entry has seq `through_seq + 1`
    and prev_hash `through_hash` (the hash of the last removed entry). Append-only like the log, and
    the database takes one only for entries past the retention period (migration 0005)."""

    at = models.DateTimeField(default=timezone.now)
    cutoff = models.DateTimeField()
    first_seq = models.BigIntegerField()
    through_seq = models.BigIntegerField(unique=True)
    through_hash = models.CharField(max_length=64)
    deleted_count = models.PositiveBigIntegerField()
    # The time of the last removed entry and `key id:HMAC` over the prefix (audit.chain.sign_anchor);
    # NULL on anchors from before the chain was keyed.
    through_at = models.DateTimeField(null=True, blank=True)
    mac = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["-through_seq"]
        verbose_name = _("access log pruning")
        verbose_name_plural = _("access log prunings")

    def __str__(self) -> str:
        return f"pruned #{self.first_seq}–#{self.through_seq}"


class LogReview(models.Model):
    """A review of the access log done by a log reviewer: what was selected and what they concluded.
    A random sample ("stickprov") is drawn first (status open) and completed with a conclusion."""

    class Kind(models.TextChoices):
        SAMPLE = "sample", _("Random sample")
        SEARCH = "search", pgettext_lazy("kind of log review", "Search")
        TARGETED = "targeted", _("Targeted check")

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        DONE = "done", _("Completed")

    class Outcome(models.TextChoices):
        NO_REMARKS = "no_remarks", _("No remarks")
        REMARKS = "remarks", _("Remarks – followed up")

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="log_reviews",
        verbose_name=_("reviewer"),
    )
    kind = models.CharField(_("kind of review"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    # The filters or check that made up the selection (never a personal identity number: a citizen is
    # referred to by user id).
    selection = models.JSONField(_("selection"), default=dict, blank=True)
    sample_seqs = models.JSONField(_("sampled entries"), default=list, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    conclusion = models.TextField(_("conclusion"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("log review")
        verbose_name_plural = _("log reviews")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}–{self.period_end}"
