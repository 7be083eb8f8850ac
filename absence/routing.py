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
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from mailboxes.models import Delivery, Mailbox, Message, UnitMembership
from mailboxes.services import (
    DeliveryPlan,
    deliveries_create,
    deliveries_create_many,
    mailbox_personal_for,
)

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
    the personal one of someone away with forwarding, their forward target.

    A loop (A → B → A) or a chain deeper than FORWARDING_MAX_DEPTH ends in a group mailbox: that of
    the first absent person's unit, else of the next absent person's in the chain. The chain always
    ends in a mailbox whose owner is present or in a group mailbox, unless nobody in it has a unit
    (logged: a configuration error the sweep keeps reporting)."""
    when = when or timezone.now()
    plans = [DeliveryPlan(mailbox_id=intended.pk, reason=Delivery.Reason.DIRECT)]
    visited = {intended.pk}
    absent_chain: list[int] = []
    current = intended
    while current.kind == Mailbox.Kind.PERSONAL:
        absence = active_absence(current.owner_id, when)
        if absence is None:
            break
        absent_chain.append(current.owner_id)
        target = absence.forward_to
        if target.pk in visited or len(absent_chain) > settings.FORWARDING_MAX_DEPTH:
            target = _fallback_group(absent_chain, visited)
            if target is None:
                logger.error(
                    "forwarding chain from mailbox %s ends in an absent person's mailbox: nobody in it "
                    "belongs to a unit",
                    intended.pk,
                )
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


def _fallback_group(absent_chain: list[int], visited: set[int]) -> Mailbox | None:
    for user_id in absent_chain:
        group = home_group_mailbox(user_id)
        if group is not None and group.pk not in visited:
            return group
    return None


def plans_for(mailboxes: Iterable[Mailbox], when: datetime | None = None) -> list[DeliveryPlan]:
    plans: list[DeliveryPlan] = []
    for mailbox in mailboxes:
        plans.extend(plan_deliveries(intended=mailbox, when=when))
    return plans


def forward_unread_in_mailbox(*, mailbox: Mailbox, when: datetime | None = None) -> list[Delivery]:
    """Start of an absence: every unread message already in `mailbox` also goes where a new message
    to it would go now (one plan for all of them, one bulk insert). Already forwarded ones are
    skipped by the unique delivery, so running this twice forwards once."""
    when = when or timezone.now()
    chain = plan_deliveries(intended=mailbox, when=when)[1:]
    if not chain:
        return []
    message_ids = (
        Delivery.objects.filter(mailbox=mailbox, read_at__isnull=True)
        .exclude(reason=Delivery.Reason.SENT)
        .values_list("message_id", flat=True)
    )
    return deliveries_create_many(plans_by_message=dict.fromkeys(message_ids, chain))


def stranded_unread(when: datetime | None = None) -> dict[int, list[int]]:
    """Guarantee 2, checked: {personal mailbox id: [message ids]} for unread messages whose only
    copies are in mailboxes of people who are away now (no group mailbox, no present colleague;
    a sender's own sent copy does not count)."""
    when = when or timezone.now()
    absent = Absence.objects.active_at(when).values("handler_id")
    # The sender's own "sent" copy does not count: the sender expects someone else to act on it.
    somewhere_actionable = (
        Delivery.objects.filter(message_id=OuterRef("message_id"))
        .exclude(reason=Delivery.Reason.SENT)
        .filter(
            Q(mailbox__kind=Mailbox.Kind.GROUP)
            | (Q(mailbox__kind=Mailbox.Kind.PERSONAL) & ~Q(mailbox__owner_id__in=Subquery(absent)))
        )
    )
    rows = (
        Delivery.objects.filter(
            mailbox__kind=Mailbox.Kind.PERSONAL,
            mailbox__owner_id__in=Subquery(absent),
            read_at__isnull=True,
        )
        .exclude(reason=Delivery.Reason.SENT)
        .exclude(Exists(somewhere_actionable))
        .order_by("mailbox_id", "message_id")
        .values_list("mailbox_id", "message_id")
    )
    found: dict[int, list[int]] = {}
    for mailbox_id, message_id in rows:
        found.setdefault(mailbox_id, []).append(message_id)
    return found


def forward_stranded_unread(*, when: datetime | None = None) -> int:
    """Forward every stranded unread message (see `stranded_unread`) along its mailbox's chain."""
    when = when or timezone.now()
    stranded = stranded_unread(when)
    if not stranded:
        return 0
    plans: dict[int, list[DeliveryPlan]] = {}
    for mailbox in Mailbox.objects.filter(pk__in=list(stranded)).order_by("pk"):
        chain = plan_deliveries(intended=mailbox, when=when)[1:]
        for message_id in stranded[mailbox.pk]:
            plans.setdefault(message_id, []).extend(chain)
    created = deliveries_create_many(plans_by_message=plans)
    if created:
        logger.warning("sweep forwarded %s unread message(s) left only with absent handlers", len(created))
    return len(created)


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
