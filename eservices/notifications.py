"""What a citizen is told when staff write: only that there is a new message and where to log in.
Never the unit, case, handler or any content (guarantee 6).

Each (message, channel) has one NotificationLog row; a channel whose row is marked sent is never sent
again, so a retry after one channel succeeded and the other failed sends only the failed one."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mailboxes.models import Message

from .models import Case, Citizen, NotificationLog
from .sms import get_backend

logger = logging.getLogger(__name__)


class NotificationFailed(Exception):
    """At least one channel failed; the task retries (the others are already recorded as sent)."""


def notification_text() -> tuple[str, str]:
    # Only the municipality's name: "social services", a unit or an e-service would itself reveal
    # contact with social services to whoever reads the citizen's phone or mail (OSL 26:1).
    names = {"municipality": settings.MUNICIPALITY_NAME, "url": settings.CITIZEN_PORTAL_URL}
    subject = _("New message from %(municipality)s") % names
    body = (
        _(
            "You have a new message from %(municipality)s.\n\n"
            "Log in with e-ID to read it: %(url)s\n\n"
            "This is an automatic notification; do not reply to it."
        )
        % names
    )
    return subject, body


def sms_text() -> str:
    return _("You have a new message from %(municipality)s. Log in: %(url)s") % {
        "municipality": settings.MUNICIPALITY_NAME,
        "url": settings.CITIZEN_PORTAL_URL,
    }


def channels_for(citizen: Citizen) -> list[str]:
    """The channels the citizen chose that have an address."""
    channel = citizen.notify_channel
    chosen = []
    if channel in (Citizen.Channel.EMAIL, Citizen.Channel.BOTH) and citizen.notify_email:
        chosen.append(NotificationLog.Channel.EMAIL)
    if channel in (Citizen.Channel.SMS, Citizen.Channel.BOTH) and citizen.notify_phone:
        chosen.append(NotificationLog.Channel.SMS)
    return chosen


def is_notifiable(message: Message) -> bool:
    """Only a normal message a staff member sent to the citizen. Never an internal note (that would
    reveal that one exists), never the citizen's own message or an automatic reply to it."""
    return (
        message.kind == Message.Kind.NORMAL
        and message.thread.is_citizen
        and message.sender_id is not None
        and not message.sender.is_citizen
    )


def _send(channel: str, citizen: Citizen) -> None:
    # Always Swedish: the notification carries no personal content, and Swedish is the municipality's
    # language for everything sent outside the portal.
    with translation.override("sv"):
        if channel == NotificationLog.Channel.EMAIL:
            subject, body = notification_text()
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [citizen.notify_email])
        else:
            get_backend().send(citizen.notify_phone, sms_text())


def message_notify(*, message_id: int) -> list[str]:
    """Notify the citizen of one message on each chosen channel not yet sent for it. Returns the
    channels sent by this call; raises NotificationFailed if any channel failed."""
    message = Message.objects.select_related("thread", "sender").filter(pk=message_id).first()
    if message is None or not is_notifiable(message):
        return []
    case = Case.objects.select_related("citizen").filter(thread_id=message.thread_id).first()
    if case is None:
        return []
    citizen = case.citizen
    channels = channels_for(citizen)
    if not channels:
        return []
    NotificationLog.objects.bulk_create(
        [NotificationLog(message=message, citizen=citizen, channel=channel) for channel in channels],
        ignore_conflicts=True,
    )
    sent: list[str] = []
    failed: list[str] = []
    for channel in sorted(channels):
        # The row lock is held while sending so that two copies of the task (a redelivery, the sweep)
        # cannot both send; the backend's timeout bounds it.
        with transaction.atomic():
            log = NotificationLog.objects.select_for_update().get(message=message, channel=channel)
            if log.sent_at is not None:
                continue
            now = timezone.now()
            try:
                _send(channel, citizen)
            except Exception as exc:  # any backend failure: record, keep going, let the task retry
                NotificationLog.objects.filter(pk=log.pk).update(
                    attempts=log.attempts + 1, last_attempt_at=now, last_error=type(exc).__name__[:200]
                )
                logger.warning("citizen notification by %s failed (%s)", channel, type(exc).__name__)
                failed.append(channel)
                continue
            NotificationLog.objects.filter(pk=log.pk).update(
                attempts=log.attempts + 1, last_attempt_at=now, sent_at=timezone.now(), last_error=""
            )
            sent.append(channel)
    if failed:
        raise NotificationFailed(", ".join(failed))
    return sent
