from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Mailbox


class AbsenceQuerySet(models.QuerySet):
    def active_at(self, when):
        return self.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=when),
            starts_at__lte=when,
        ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=when))

    def active_between(self, since, until):
        """Absences active at some moment from `since` to `until` (both included)."""
        return self.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=since),
            Q(ends_at__isnull=True) | Q(ends_at__gt=since),
            starts_at__lte=until,
        )


class Absence(models.Model):
    """A handler's period away. Active when `starts_at <= now < ends_at` (ends_at empty: open-ended)
    and not ended early (`ended_at`). Times are stored in UTC, entered and shown in Europe/Stockholm."""

    class Kind(models.TextChoices):
        PLANNED = "planned", _("Planned")
        UNPLANNED = "unplanned", _("Unplanned (sick call)")

    handler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="absences")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message_to_colleagues = models.TextField(_("out-of-office text for colleagues"), blank=True)
    message_to_citizens = models.TextField(_("out-of-office text for citizens"), blank=True)
    show_return_date_to_citizens = models.BooleanField(_("show my return date to citizens"), default=False)
    forward_to = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, related_name="+", verbose_name=_("forward to")
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    # Set when the start-of-absence forwarding of existing unread mail has run (idempotence).
    started_processed_at = models.DateTimeField(null=True, blank=True)
    # Set when the end (by time, by hand, or a cancellation) has been recorded (audit once).
    end_processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        indexes = [models.Index(fields=["handler", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="absence_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler} {self.starts_at:%Y-%m-%d}"

    def is_active(self, when=None) -> bool:
        when = when or timezone.now()
        if self.ended_at is not None and self.ended_at <= when:
            return False
        return self.starts_at <= when and (self.ends_at is None or self.ends_at > when)

    def is_upcoming(self, when=None) -> bool:
        when = when or timezone.now()
        return self.ended_at is None and self.starts_at > when

    @property
    def effective_end(self):
        """When forwarding stops (or stopped): ended early, else the planned end; None if open-ended."""
        if self.ended_at is not None and (self.ends_at is None or self.ended_at < self.ends_at):
            return self.ended_at
        return self.ends_at

    @property
    def set_by_someone_else(self) -> bool:
        return self.set_by_id != self.handler_id


class AutoReply(models.Model):
    """The out-of-office reply posted in a citizen thread: at most one per (absence, thread)."""

    absence = models.ForeignKey(Absence, on_delete=models.PROTECT, related_name="auto_replies")
    thread = models.ForeignKey("mailboxes.Thread", on_delete=models.PROTECT, related_name="+")
    message = models.OneToOneField("mailboxes.Message", on_delete=models.PROTECT, related_name="+")
    # The citizen message it answered.
    in_reply_to = models.ForeignKey("mailboxes.Message", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("out-of-office reply")
        verbose_name_plural = _("out-of-office replies")
        constraints = [
            models.UniqueConstraint(fields=["absence", "thread"], name="one_auto_reply_per_absence_thread")
        ]

    def __str__(self) -> str:
        return f"{self.absence_id}/{self.thread_id}"


class GroupUnreadEscalation(models.Model):
    """A group-mailbox delivery that stayed unread too long and was reported to the unit manager(s).
    One row per delivery: each message is escalated once."""

    delivery = models.OneToOneField(
        "mailboxes.Delivery", on_delete=models.PROTECT, related_name="unread_escalation"
    )
    escalated_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True)

    class Meta:
        verbose_name = _("unread escalation")
        verbose_name_plural = _("unread escalations")

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.escalated_at:%Y-%m-%d %H:%M}"


class UnregisteredAbsenceAlert(models.Model):
    """A citizen message left unread in a personal mailbox whose owner has not logged in since it
    arrived, reported to the unit manager(s) (absence.unregistered). One row per delivery: each
    message is reported once."""

    delivery = models.OneToOneField(
        "mailboxes.Delivery", on_delete=models.PROTECT, related_name="unregistered_absence_alert"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    alerted_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True)

    class Meta:
        verbose_name = _("unregistered-absence alert")
        verbose_name_plural = _("unregistered-absence alerts")

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.alerted_at:%Y-%m-%d %H:%M}"
