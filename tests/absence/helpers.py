"""Small builders for absence tests: they go through the real services, like the app does."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from absence.models import Absence
from absence.routing import route_message
from absence.services import absence_create
from eservices.services import citizen_message_send
from mailboxes.models import Delivery, Mailbox, Message
from mailboxes.services import mailbox_personal_for, message_store, thread_create


def sick_leave(handler, *, actor=None, forward_to: Mailbox | None = None, now=None, ends_at=None, reason=""):
    """Forwarding switched on now (unplanned), to the handler's first unit's group mailbox."""
    return absence_create(
        handler=handler,
        actor=actor or handler,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=ends_at,
        forward_to=forward_to or handler.units.order_by("name").first().group_mailbox,
        reason=reason,
        now=now,
    )


def planned(
    handler,
    *,
    starts_at: datetime,
    ends_at: datetime,
    forward_to: Mailbox | None = None,
    now=None,
    **extra,
):
    return absence_create(
        handler=handler,
        actor=handler,
        kind=Absence.Kind.PLANNED,
        starts_at=starts_at,
        ends_at=ends_at,
        forward_to=forward_to or handler.units.order_by("name").first().group_mailbox,
        now=now,
        **extra,
    )


def citizen_writes(
    case, body: str = "Hej, jag har en fråga om mitt ärende.", *, route: bool = True
) -> Message:
    """A citizen message in the case's thread, routed at once (the `db` fixture never runs
    on-commit callbacks, so routing is called the way the task would)."""
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=body)
    if route:
        route_message(message_id=message.pk)
    return message


def internal_message(
    sender, recipients, body: str = "Internt meddelande", *, route: bool = True, thread=None
):
    thread = thread or thread_create(subject="Intern fråga")
    message = message_store(
        thread=thread,
        sender=sender,
        sender_mailbox=mailbox_personal_for(sender),
        body=body,
        recipients=[r if isinstance(r, Mailbox) else mailbox_personal_for(r) for r in recipients],
    )
    if route:
        route_message(message_id=message.pk)
    return message


def mailboxes_of(message: Message) -> set[int]:
    return set(Delivery.objects.filter(message=message).values_list("mailbox_id", flat=True))


def delivery(message: Message, mailbox: Mailbox) -> Delivery:
    return Delivery.objects.get(message=message, mailbox=mailbox)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def now() -> datetime:
    return timezone.now()
