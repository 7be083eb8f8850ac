"""Reads about absences that other apps show: the mail tip, the citizen's "your handler is away"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from mailboxes.models import Mailbox

from .models import Absence
from .routing import plan_deliveries


@dataclass(frozen=True)
class AwayNotice:
    user_id: int
    name: str
    until: datetime | None  # None: open-ended
    goes_to: list[str]  # names of the mailboxes a message to this person will also reach
    message_to_colleagues: str


def active_absences_for(user_ids, when: datetime | None = None) -> dict[int, Absence]:
    when = when or timezone.now()
    found: dict[int, Absence] = {}
    for absence in (
        Absence.objects.active_at(when)
        .filter(handler_id__in=list(user_ids))
        .select_related("handler", "forward_to")
        .order_by("starts_at", "id")
    ):
        found.setdefault(absence.handler_id, absence)
    return found


def away_notices_for_mailboxes(mailboxes, when: datetime | None = None) -> list[AwayNotice]:
    """Mail tip: for each personal mailbox whose owner is away, until when and where a message goes."""
    when = when or timezone.now()
    personal = [m for m in mailboxes if m.kind == Mailbox.Kind.PERSONAL]
    absences = active_absences_for([m.owner_id for m in personal], when)
    notices = []
    for mailbox in personal:
        absence = absences.get(mailbox.owner_id)
        if absence is None:
            continue
        plans = plan_deliveries(intended=mailbox, when=when)
        names = dict(
            Mailbox.objects.filter(pk__in=[p.mailbox_id for p in plans[1:]]).values_list("pk", "name")
        )
        notices.append(
            AwayNotice(
                user_id=mailbox.owner_id,
                name=absence.handler.display_name,
                until=absence.ends_at,
                goes_to=[names[p.mailbox_id] for p in plans[1:] if p.mailbox_id in names],
                message_to_colleagues=absence.message_to_colleagues,
            )
        )
    return notices


def handler_is_away(user_id: int | None, when: datetime | None = None) -> bool:
    if user_id is None:
        return False
    return user_id in active_absences_for([user_id], when)
