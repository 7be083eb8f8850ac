"""The optional daily e-mail to a handläggare: how many citizen messages wait unread in their
personal mailbox, with a link to it — never what they say, who wrote them or which case.

Off unless the person switches it on (replies.manage_views.notice_settings): the workspace already
shows what waits, the unit manager hears of mail left unread with someone absent
(absence.unregistered), and an e-mail a day is a choice each person makes for themselves.

Sent by beat (WAITING_MAIL_NOTICE_TIME on weekdays); on a Swedish public holiday or eve off
(absence.workdays) nothing is sent. Once a day at most: a row per person and day (unique) is written
in the same transaction as the e-mail is handed over, so a rerun — or two beats — sends nothing more.
Skipped for people away (an absence under way) and for those with nothing waiting.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from absence.selectors import active_absences_for
from absence.services import _staff_url
from absence.workdays import is_working_day
from mailboxes.models import Delivery, Mailbox

from .models import WaitingMailNotice, WaitingMailSetting

logger = logging.getLogger(__name__)
User = get_user_model()


def waiting_mail_setting_set(*, user, daily_email: bool) -> None:
    WaitingMailSetting.objects.update_or_create(
        user=user, defaults={"daily_email": daily_email, "changed_at": timezone.now()}
    )


def waiting_counts(user_ids) -> dict[int, tuple[int, int]]:
    """owner id -> (personal mailbox id, citizen messages unread there), for those with any."""
    rows = (
        Delivery.objects.filter(
            mailbox__kind=Mailbox.Kind.PERSONAL,
            mailbox__owner_id__in=user_ids,
            read_at__isnull=True,
            message__sender__kind=User.Kind.CITIZEN,
        )
        .values("mailbox__owner_id", "mailbox_id")
        .annotate(waiting=Count("id"))
        .order_by()
    )
    return {r["mailbox__owner_id"]: (r["mailbox_id"], r["waiting"]) for r in rows}


def waiting_mail_notices_send(*, now: dt.datetime | None = None) -> int:
    """Send today's reminders still unsent. Returns how many went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not is_working_day(today):
        return 0
    subscribers = set(
        WaitingMailSetting.objects.filter(daily_email=True, user__is_active=True, user__kind=User.Kind.STAFF)
        .exclude(user__email="")
        .exclude(user_id__in=WaitingMailNotice.objects.filter(day=today).values("user_id"))
        .values_list("user_id", flat=True)
    )
    counts = waiting_counts(subscribers)
    away = set(active_absences_for(set(counts), now))
    sent = 0
    for user in User.objects.filter(pk__in=set(counts) - away).order_by("pk"):
        mailbox_id, waiting = counts[user.pk]
        sent += _notice_send(user=user, day=today, mailbox_id=mailbox_id, waiting=waiting, now=now)
    return sent


def _notice_send(*, user, day: dt.date, mailbox_id: int, waiting: int, now: dt.datetime) -> int:
    subject, body = _notice_text(mailbox_id=mailbox_id, waiting=waiting)
    try:
        with transaction.atomic():
            WaitingMailNotice.objects.create(user=user, day=day, waiting=waiting, sent_at=now)
            # Handed over inside the transaction: if sending fails, the row goes and a rerun retries.
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except IntegrityError:
        return 0  # another run sent today's already
    return 1


def _notice_text(*, mailbox_id: int, waiting: int) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Messages from citizens are waiting in your mailbox")
        body = "\n\n".join(
            [
                ngettext(
                    "%(count)s message from a citizen is waiting unread in your personal mailbox.",
                    "%(count)s messages from citizens are waiting unread in your personal mailbox.",
                    waiting,
                )
                % {"count": waiting},
                _("Open your mailbox: %(url)s")
                % {"url": _staff_url(reverse("mailboxes:mailbox", args=[mailbox_id]))},
                _("This e-mail contains no message content."),
                _("You get this e-mail because you asked for it. To stop it: %(url)s")
                % {"url": _staff_url(reverse("replies:notice_settings"))},
            ]
        )
    return subject, body
