from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """A change someone made: absence, forwarding, membership, roles, case assignment, retention."""

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

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class AccessLogEntry(models.Model):
    """One staff read (or export, print, forward) of citizen data. Append-only and hash-chained:
    `entry_hash` = sha256(prev_hash + canonical fields), so an altered or removed row breaks the chain."""

    class Action(models.TextChoices):
        READ_THREAD = "read_thread", _("Read thread")
        READ_MESSAGE = "read_message", _("Read message")
        DOWNLOAD_ATTACHMENT = "download_attachment", _("Downloaded attachment")
        EXPORT = "export", _("Exported")
        PRINT = "print", _("Printed")
        FORWARD = "forward", _("Forwarded")
        SEARCH = "search", _("Searched")

    class Route(models.TextChoices):
        OWN_MAILBOX = "own_mailbox", _("Own mailbox")
        GROUP_MAILBOX = "group_mailbox", _("Group mailbox")
        FORWARDING = "forwarding", _("Forwarding")
        ASSIGNED_CASE = "assigned_case", _("Assigned case")
        LOG_REVIEW = "log_review", _("Log review")
        API = "api", _("API")

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

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["citizen", "at"]),
            models.Index(fields=["user", "at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M} {self.action}"


class AccessLogHead(models.Model):
    """The single row that serialises appends to the chain (locked FOR UPDATE by each append)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
