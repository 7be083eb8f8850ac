"""The sick-day gap: a handler who is away without anyone having registered it (no absence, so no
forwarding) leaves citizen messages unread in their personal mailbox. When such a message has been
unread for more than UNREGISTERED_ABSENCE_WORKING_DAYS working days and the owner has not logged in
since it arrived, the unit manager(s) are told — who, how many and since when, never what the
messages say — with a link to the sick-call form for that handler.

Working days: absence.workdays.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.backends import MODEL_BACKEND
from mailboxes.models import Delivery, Mailbox, UnitMembership

from .models import UnregisteredAbsenceAlert
from .selectors import active_absences_for
from .services import _staff_url
from .workdays import is_working_day, overdue_arrival_cutoff

__all__ = ["is_working_day", "overdue_arrival_cutoff", "unregistered_absence_alert"]

logger = logging.getLogger(__name__)
User = get_user_model()


def unregistered_absence_alert(*, now: dt.datetime | None = None) -> int:
    """Report each overdue unread citizen message of an owner who has not logged in since it came
    (once per message). Returns the number of messages reported."""
    now = now or timezone.now()
    cutoff_day = overdue_arrival_cutoff(timezone.localdate(now), settings.UNREGISTERED_ABSENCE_WORKING_DAYS)
    before = dt.datetime.combine(
        cutoff_day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    owner_ids = set(_overdue(before).order_by().values_list("mailbox__owner_id", flat=True).distinct())
    away = active_absences_for(owner_ids, now)
    reported = 0
    for owner in User.objects.filter(pk__in=owner_ids - set(away), is_active=True).order_by("pk"):
        reported += _alert_owner(owner=owner, before=before, now=now)
    return reported


def _overdue(before: dt.datetime):
    """Unread, unreported citizen messages in personal mailboxes that arrived before `before`, whose
    owner has not logged in since they arrived."""
    return Delivery.objects.filter(
        mailbox__kind=Mailbox.Kind.PERSONAL,
        read_at__isnull=True,
        created_at__lt=before,
        message__sender__kind=User.Kind.CITIZEN,
        unregistered_absence_alert__isnull=True,
    ).filter(Q(mailbox__owner__last_login__isnull=True) | Q(mailbox__owner__last_login__lt=F("created_at")))


def alert_recipients(owner) -> list:
    """The unit managers of the owner's units, and the unit's staff who may take sick calls (a unit
    manager without that right still needs someone who can act on the notice)."""
    unit_ids = UnitMembership.objects.filter(user=owner).values("unit_id")
    managers = User.objects.with_perm("accounts.view_unit_overview", backend=MODEL_BACKEND)
    sick_callers = User.objects.with_perm("accounts.take_sick_calls", backend=MODEL_BACKEND)
    return list(
        User.objects.filter(Q(pk__in=managers.values("pk")) | Q(pk__in=sick_callers.values("pk")))
        .filter(unit_memberships__unit_id__in=unit_ids, kind=User.Kind.STAFF, is_active=True)
        .exclude(pk=owner.pk)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def _alert_owner(*, owner, before: dt.datetime, now: dt.datetime) -> int:
    # skip_locked: a concurrent run (or the owner reading them) takes the rows it holds.
    deliveries = list(
        _overdue(before)
        .filter(mailbox__owner=owner)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("created_at", "id")
    )
    if not deliveries:
        return 0
    recipients = alert_recipients(owner)
    UnregisteredAbsenceAlert.objects.bulk_create(
        [
            UnregisteredAbsenceAlert(
                delivery=d, owner=owner, alerted_at=now, recipients=", ".join(r.username for r in recipients)
            )
            for d in deliveries
        ]
    )
    if not recipients:
        logger.warning("unregistered absence of user %s: nobody in the unit to tell", owner.pk)
        return len(deliveries)
    subject, body = _alert_text(owner=owner, count=len(deliveries), oldest=deliveries[0].created_at)
    # Sent inside the transaction: if sending fails, the rows roll back and the next run retries.
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [r.email for r in recipients])
    return len(deliveries)


def _alert_text(*, owner, count: int, oldest: dt.datetime) -> tuple[str, str]:
    sick_call_url = _staff_url(f"{reverse('absence:sick_call')}?handler={owner.pk}")
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Unread citizen messages for %(name)s, who has not logged in") % {
            "name": owner.display_name
        }
        body = "\n\n".join(
            [
                ngettext(
                    "%(count)s message from a citizen has been unread in the personal mailbox of "
                    "%(name)s for more than %(days)s working days. It arrived %(oldest)s. %(name)s has "
                    "not logged in since then and has no registered absence.",
                    "%(count)s messages from citizens have been unread in the personal mailbox of "
                    "%(name)s for more than %(days)s working days. The oldest arrived %(oldest)s. "
                    "%(name)s has not logged in since then and has no registered absence.",
                    count,
                )
                % {
                    "count": count,
                    "name": owner.display_name,
                    "days": settings.UNREGISTERED_ABSENCE_WORKING_DAYS,
                    "oldest": formats.date_format(timezone.localtime(oldest), "j F Y H:i"),
                },
                _("If %(name)s is away, start a sick call so the messages reach the group mailbox: %(url)s")
                % {"name": owner.display_name, "url": sick_call_url},
                _("This e-mail contains no message content."),
            ]
        )
    return subject, body
