"""What helps staff answer: drafts (one per thread and author, seen by the author alone), saved replies
per unit (kept by the unit manager), and the opt-in daily reminder of citizen mail waiting unread.

None of these is registered in the admin: a draft of a reply to a citizen is as secret as a message,
and nobody but its author may read it (not the unit manager, not the log reviewer, not an admin)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Thread, Unit


class Draft(models.Model):
    """Text written in a thread's reply or send-to-citizen form and not sent yet. Stored like a
    message (the same database, no cache, never in a log); removed when the message is sent, and by
    the daily sweep DRAFT_RETENTION_DAYS after it was last saved."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Goes with the thread: message retention deletes a thread only once its messages are gone.
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    saved_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="unique_draft_per_thread_user")
        ]

    def __str__(self) -> str:
        return f"draft {self.pk}"  # never the text


class SavedReply(models.Model):
    """A unit's ready-made text. Placeholders ({handläggare}, {enhet}) name only the sender and the
    unit: nothing from the citizen or the case is ever filled in (replies.services.saved_reply_text)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="saved_replies")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["unit", "title", "id"]
        constraints = [models.UniqueConstraint(fields=["unit", "title"], name="unique_saved_reply_title")]
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")

    def __str__(self) -> str:
        return self.title


class WaitingMailSetting(models.Model):
    """A staff member's choice about the daily e-mail on citizen mail waiting unread (off unless
    chosen: replies.notice)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    daily_email = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {'on' if self.daily_email else 'off'}"


class WaitingMailNotice(models.Model):
    """One row per person and day the reminder went out: the unique key keeps a rerun of the task
    from sending a second one the same day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    waiting = models.PositiveIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="unique_waiting_notice_per_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
