"""The one place that decides where a message goes.

`intended_mailboxes` says who a message is for; `plan_deliveries` turns one intended mailbox into the
deliveries to make, following active absences with forwarding (loop detection, depth limit, ending in
a group mailbox); `route_message` stores them. Citizen routing, internal messages and every sweep go
through `route_message`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mailboxes.models import Delivery, Mailbox, Message, UnitMembership
from mailboxes.services import DeliveryPlan, deliveries_create, mailbox_personal_for

from .models import Absence

logger = logging.getLogger(__name__)


def intended_mailboxes(message: Message) -> list[Mailbox]:
    """Who the message is addressed to, before any absence is considered."""
    if message.kind != Message.Kind.NORMAL:
        # Automatic replies and internal notes live in the thread only; nobody's inbox.
        return []
    thread = message.thread
    if thread.is_citizen:
        if message.sender is None or not message.sender.is_citizen:
            return []  # staff writing to the citizen: the citizen reads it in the portal
        from eservices.models import Case

        case = Case.objects.select_related("handler", "unit__group_mailbox").get(thread_id=thread.pk)
        if case.handler_id is not None:
            return [mailbox_personal_for(case.handler)]
        return [case.unit.group_mailbox]
    return list(message.recipients.all())


def active_absence(user_id: int, when: datetime) -> Absence | None:
    return (
        Absence.objects.active_at(when)
        .filter(handler_id=user_id)
        .select_related("forward_to")
        .order_by("starts_at", "id")
        .first()
    )


def home_group_mailbox(user_id: int) -> Mailbox | None:
    """The group mailbox of the user's (first) unit: where a forwarding chain ends when it must."""
    membership = (
        UnitMembership.objects.filter(user_id=user_id)
        .select_related("unit__group_mailbox")
        .order_by("id")
        .first()
    )
    return membership.unit.group_mailbox if membership else None


def plan_deliveries(*, intended: Mailbox, when: datetime | None = None) -> list[DeliveryPlan]:
    """The deliveries for one intended mailbox: the mailbox itself, then, while the current mailbox is
    the personal one of someone away with forwarding, their forward target. A loop or a chain deeper
    than FORWARDING_MAX_DEPTH ends in the group mailbox of the first absent person's unit."""
    when = when or timezone.now()
    plans = [DeliveryPlan(mailbox_id=intended.pk, reason=Delivery.Reason.DIRECT)]
    visited = {intended.pk}
    current = intended
    first_absent_id: int | None = None
    depth = 0
    while current.kind == Mailbox.Kind.PERSONAL:
        absence = active_absence(current.owner_id, when)
        if absence is None:
            break
        first_absent_id = first_absent_id or current.owner_id
        target = absence.forward_to
        depth += 1
        if target.pk in visited or depth > settings.FORWARDING_MAX_DEPTH:
            target = home_group_mailbox(first_absent_id)
            if target is None or target.pk in visited:
                logger.warning("forwarding chain from mailbox %s has no group mailbox to end in", intended.pk)
                break
        plans.append(
            DeliveryPlan(
                mailbox_id=target.pk,
                reason=Delivery.Reason.FORWARDED_ABSENCE,
                forwarded_for_id=current.owner_id,
                forwarded_from_mailbox_id=current.pk,
            )
        )
        visited.add(target.pk)
        current = target
    return plans


def plans_for(mailboxes: Iterable[Mailbox], when: datetime | None = None) -> list[DeliveryPlan]:
    plans: list[DeliveryPlan] = []
    for mailbox in mailboxes:
        plans.extend(plan_deliveries(intended=mailbox, when=when))
    return plans


def route_message(*, message_id: int) -> list[Delivery]:
    """Deliver a stored message. Idempotent: a routed message (routed_at set) is left alone, and the
    unique delivery constraint makes a concurrent second run create nothing."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("thread", "sender")
            .filter(pk=message_id)
            .order_by()  # a lock needs no ORDER BY (Message is ordered by default)
            .first()
        )
        if message is None or message.routed_at is not None:
            return []
        now = timezone.now()
        created = deliveries_create(message=message, plans=plans_for(intended_mailboxes(message), now))
        Message.objects.filter(pk=message.pk).update(routed_at=now)
        after_routing = _after_routing_hooks()
        for hook in after_routing:
            hook(message=message, deliveries=created)
    return created


def _after_routing_hooks():
    # Out-of-office replies and webhooks hang here (absence.autoreply, integrations); each hook runs in
    # the routing transaction and must only enqueue side effects on commit.
    from . import hooks

    return hooks.AFTER_ROUTING


def message_route_on_commit(message: Message) -> None:
    """Enqueue routing after the storing transaction commits. If the broker is down the message stays
    stored and unrouted, and the sweep routes it."""
    from .tasks import route_message_task

    def _send() -> None:
        try:
            route_message_task.delay(message_id=message.pk)
        except Exception:  # broker unreachable: the sweep delivers it (guarantee 1)
            logger.warning("could not enqueue routing for message %s; the sweep will route it", message.pk)

    transaction.on_commit(_send)
