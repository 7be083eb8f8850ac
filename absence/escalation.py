"""Escalation of old unread mail in group mailboxes to the unit manager(s), counted in working days
(absence.workdays). Once per message (one GroupUnreadEscalation row per delivery); the e-mail says how
many and how old, never what the messages say."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.backends import MODEL_BACKEND
from mailboxes.models import Delivery, Mailbox

from .models import GroupUnreadEscalation
from .services import _staff_url
from .workdays import working_days_before

logger = logging.getLogger(__name__)
User = get_user_model()


def unit_managers(unit) -> list:
    return list(
        User.objects.with_perm("accounts.view_unit_overview", backend=MODEL_BACKEND)
        .filter(unit_memberships__unit=unit, kind=User.Kind.STAFF)
        .order_by("pk")
    )


def group_unread_escalate(*, now: datetime | None = None) -> int:
    """E-mail the unit manager(s) when a message has been unread in their group mailbox longer than
    GROUP_UNREAD_ESCALATION_WORKING_DAYS working days (absence.workdays: a message left on Friday is
    not escalated on Saturday, one left before Christmas not on juldagen). Once per message: each
    delivery gets one escalation row. The e-mail says how many and how old — never what the
    messages say. Returns deliveries escalated."""
    now = now or timezone.now()
    cutoff = working_days_before(now, settings.GROUP_UNREAD_ESCALATION_WORKING_DAYS)
    escalated = 0
    mailbox_ids = list(
        Delivery.objects.filter(
            mailbox__kind=Mailbox.Kind.GROUP,
            read_at__isnull=True,
            created_at__lte=cutoff,
            unread_escalation__isnull=True,
        )
        .order_by("mailbox_id")
        .values_list("mailbox_id", flat=True)
        .distinct()
    )
    for mailbox in Mailbox.objects.filter(pk__in=mailbox_ids).select_related("unit").order_by("pk"):
        escalated += _escalate_mailbox(mailbox=mailbox, cutoff=cutoff, now=now)
    return escalated


@transaction.atomic
def _escalate_mailbox(*, mailbox: Mailbox, cutoff: datetime, now: datetime) -> int:
    # skip_locked: a concurrent run (or a reader marking them read) takes the rows it holds.
    deliveries = list(
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            mailbox=mailbox,
            read_at__isnull=True,
            created_at__lte=cutoff,
            unread_escalation__isnull=True,
        )
        .order_by("created_at", "id")
    )
    if not deliveries:
        return 0
    managers = [m for m in unit_managers(mailbox.unit) if m.email]
    GroupUnreadEscalation.objects.bulk_create(
        [
            GroupUnreadEscalation(
                delivery=d, escalated_at=now, recipients=", ".join(m.username for m in managers)
            )
            for d in deliveries
        ]
    )
    if not managers:
        logger.warning("unread escalation for %s: the unit has no manager with an e-mail address", mailbox)
        return len(deliveries)
    subject, body = _escalation_text(mailbox=mailbox, deliveries=deliveries)
    # Sent inside the transaction: if sending fails, the rows roll back and the next run retries.
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [m.email for m in managers])
    return len(deliveries)


def _escalation_text(*, mailbox: Mailbox, deliveries: list[Delivery]) -> tuple[str, str]:
    oldest = timezone.localtime(deliveries[0].created_at)
    days = settings.GROUP_UNREAD_ESCALATION_WORKING_DAYS
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Unread messages in the group mailbox %(mailbox)s") % {"mailbox": mailbox.name}
        body = "\n\n".join(
            [
                ngettext(
                    "%(count)s message has been unread in the group mailbox %(mailbox)s for more than "
                    "%(working_days)s. It arrived %(oldest)s.",
                    "%(count)s messages have been unread in the group mailbox %(mailbox)s for more than "
                    "%(working_days)s. The oldest arrived %(oldest)s.",
                    len(deliveries),
                )
                % {
                    "count": len(deliveries),
                    "mailbox": mailbox.name,
                    "working_days": ngettext("%(days)s working day", "%(days)s working days", days)
                    % {"days": days},
                    "oldest": formats.date_format(oldest, "j F Y H:i"),
                },
                _("See the unit overview: %(url)s") % {"url": _staff_url(reverse("absence:unit_overview"))},
                _("This e-mail contains no message content."),
            ]
        )
    return subject, body
