"""Deliveries: a message placed in a mailbox, and its read state there.

`deliveries_create_many` is the one way deliveries are made (routing's batches, a sick call's
thousands of forwarded messages, a sender's own copy, a forward by hand); `deliveries_create` is its
batch of one. Lock order, so that two workers never deadlock: message rows by id, then summary rows
by id (summaries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, F
from django.db.models.functions import Greatest
from django.utils import timezone

from lifemsg import perf

from ..models import Delivery, Mailbox, MailboxThread, Message, Thread
from . import _sql
from .summaries import MESSAGE_FACT_FIELDS, MessageFacts, summaries_apply


@dataclass(frozen=True)
class DeliveryPlan:
    mailbox_id: int
    reason: str = Delivery.Reason.DIRECT
    forwarded_for_id: int | None = None
    # The mailbox whose copy this one was forwarded from (its delivery of the same message).
    forwarded_from_mailbox_id: int | None = None
    forwarded_by_id: int | None = None
    forward_note: str = ""


def deliveries_create(*, message: Message, plans: Sequence[DeliveryPlan], read_by=None) -> list[Delivery]:
    """Place `message` in each planned mailbox that does not hold it yet (already read by `read_by`
    when given: a sender's own copy) and update the summaries; deliveries_create_many for one
    message, taking what the summaries need from the instance."""
    return deliveries_create_many(plans_by_message={message.pk: plans}, read_by=read_by, known=[message])


@transaction.atomic
def deliveries_create_many(
    *,
    plans_by_message: dict[int, Sequence[DeliveryPlan]],
    read_by=None,
    known: Sequence[Message] = (),
) -> list[Delivery]:
    """Place each message in each of its planned mailboxes that does not hold it yet, in a fixed
    number of queries however many there are.

    One row per (message, mailbox): existing rows are skipped, and the lock on the message rows makes
    a second call (or a concurrent one) create nothing. A forwarded copy is linked to the copy it
    stands for (`forwarded_from`, made now or earlier), which gets `away_forwarded_at` when forwarded
    because its owner is away. The per-(mailbox, thread) summaries are updated in the same
    transaction. `known`: instances of some of the messages, whose facts need no query. Returns the
    deliveries made by this call."""
    messages = _messages_locked(sorted(plans_by_message), known=known)
    if not messages:
        return []
    existing = {
        (m, mb): pk
        for m, mb, pk in Delivery.objects.filter(message_id__in=list(messages)).values_list(
            "message_id", "mailbox_id", "pk"
        )
    }
    now = timezone.now()
    new, plan_of = _deliveries_planned(plans_by_message, messages, existing, now=now, read_by=read_by)
    if not new:
        return []
    Delivery.objects.bulk_create(new, batch_size=1000)
    _forward_links_complete(new, plan_of, existing)
    away_origins = [
        d.forwarded_from_id
        for d in new
        if d.reason == Delivery.Reason.FORWARDED_ABSENCE and d.forwarded_from_id is not None
    ]
    if away_origins:
        Delivery.objects.filter(pk__in=away_origins, away_forwarded_at__isnull=True).update(
            away_forwarded_at=now
        )
    summaries_apply(messages=messages, deliveries=new)
    return new


def _messages_locked(message_ids: list[int], *, known: Sequence[Message]) -> dict[int, MessageFacts]:
    """Lock the message rows (by id) and return their facts; a message not found is left out."""
    if not message_ids:
        return {}
    instances = {m.pk: m for m in known}
    locked = Message.objects.select_for_update(of=("self",)).filter(pk__in=message_ids).order_by("pk")
    if all(pk in instances for pk in message_ids):
        return {pk: MessageFacts.of(instances[pk]) for pk in locked.values_list("pk", flat=True)}
    return {row[0]: MessageFacts(*row) for row in locked.values_list(*MESSAGE_FACT_FIELDS)}


def _deliveries_planned(plans_by_message, messages, existing, *, now, read_by):
    """The unsaved deliveries the plans ask for (first plan per mailbox wins), and the plan of each."""
    new: list[Delivery] = []
    plan_of: dict[tuple[int, int], DeliveryPlan] = {}
    for message_id, message in messages.items():
        for plan in plans_by_message[message_id]:
            key = (message_id, plan.mailbox_id)
            if key in existing or key in plan_of:
                continue
            plan_of[key] = plan
            origin = plan.forwarded_from_mailbox_id
            new.append(
                Delivery(
                    message_id=message_id,
                    mailbox_id=plan.mailbox_id,
                    thread_id=message.thread_id,
                    reason=plan.reason,
                    forwarded_for_id=plan.forwarded_for_id,
                    forwarded_by_id=plan.forwarded_by_id,
                    forward_note=plan.forward_note,
                    created_at=now,
                    read_at=now if read_by is not None else None,
                    read_by=read_by,
                    # Links to copies that already exist are set before the insert; links to copies
                    # made in this same call (a chain of forwards) after it.
                    forwarded_from_id=existing.get((message_id, origin)) if origin else None,
                )
            )
    return new, plan_of


def _forward_links_complete(new: list[Delivery], plan_of, existing) -> None:
    by_key = existing | {(d.message_id, d.mailbox_id): d.pk for d in new}
    chain_links = []
    for delivery in new:
        origin = plan_of[(delivery.message_id, delivery.mailbox_id)].forwarded_from_mailbox_id
        if origin and delivery.forwarded_from_id is None and (delivery.message_id, origin) in by_key:
            delivery.forwarded_from_id = by_key[(delivery.message_id, origin)]
            chain_links.append(delivery)
    if chain_links:
        Delivery.objects.bulk_update(chain_links, ["forwarded_from"], batch_size=1000)


def deliveries_mark_read(*, mailbox: Mailbox, thread: Thread, user) -> int:
    """Mark this mailbox's unread copies of the thread read by `user` and lower the summary's unread
    count by exactly the rows changed, atomically; returns that number. A delivery committed
    concurrently (counted +1 by its own transaction) stays unread and counted.

    On PostgreSQL this is one statement (a data-modifying CTE), so opening a thread costs one round
    trip; elsewhere two UPDATEs in one transaction."""
    now = timezone.now()
    if perf.fast_sql():
        with connection.cursor() as cursor:
            cursor.execute(_sql.MARK_READ_SQL, [now, user.pk, mailbox.pk, thread.pk, mailbox.pk, thread.pk])
            row = cursor.fetchone()
        return row[0] if row else 0
    with transaction.atomic():
        count = Delivery.objects.filter(mailbox=mailbox, thread=thread, read_at__isnull=True).update(
            read_at=now, read_by=user
        )
        if count:
            MailboxThread.objects.filter(mailbox=mailbox, thread=thread).update(
                unread_count=Greatest(F("unread_count") - count, 0)
            )
    return count


def deliveries_mark_unread(*, mailbox: Mailbox, thread: Thread) -> int:
    """Mark the thread unread again in this mailbox ("mark as unread"): its newest copy there becomes
    unread, as when it arrived, unless a copy is unread already; the summary's unread count rises
    by exactly the rows changed, atomically. Returns that number (0 or 1).

    Deliveries first, then the summary, the order deliveries_mark_read updates them in, so the two
    never deadlock; two at once change the one row once (the second finds it unread)."""
    copies = Delivery.objects.filter(mailbox=mailbox, thread=thread)
    with transaction.atomic():
        newest = copies.order_by("-message__created_at", "-message_id").values_list("pk", flat=True)[:1]
        count = (
            Delivery.objects.filter(pk__in=list(newest), read_at__isnull=False)
            .exclude(Exists(copies.filter(read_at__isnull=True)))
            .update(read_at=None, read_by=None)
        )
        if count:
            MailboxThread.objects.filter(mailbox=mailbox, thread=thread).update(
                unread_count=F("unread_count") + count
            )
    return count
