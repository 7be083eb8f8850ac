"""Every write to units, membership, mailboxes, threads, messages and deliveries goes through here.

Lock order, so that two workers never deadlock: message row, then summary rows by ascending id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.services import audit_event_record

from .models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread, Unit, UnitMembership

SNIPPET_LENGTH = 140


# --- units, mailboxes, membership -------------------------------------------------------------


@transaction.atomic
def unit_create(*, name: str, slug: str, actor=None) -> Unit:
    unit = Unit.objects.create(name=name, slug=slug)
    group = Group.objects.create(name=f"mailbox:{slug}")
    mailbox = Mailbox.objects.create(kind=Mailbox.Kind.GROUP, name=name, unit=unit, access_group=group)
    assign_perm("mailboxes.access_mailbox", group, mailbox)
    audit_event_record(actor=actor, action="unit.create", target=unit, after={"name": name})
    return unit


def mailbox_personal_for(user) -> Mailbox:
    """The user's personal mailbox, created on first need."""
    try:
        return user.personal_mailbox
    except Mailbox.DoesNotExist:
        mailbox, _ = Mailbox.objects.get_or_create(
            owner=user, defaults={"kind": Mailbox.Kind.PERSONAL, "name": user.display_name}
        )
        return mailbox


@transaction.atomic
def membership_add(*, unit: Unit, user, actor=None) -> UnitMembership:
    membership, created = UnitMembership.objects.get_or_create(unit=unit, user=user)
    if created:
        user.groups.add(unit.group_mailbox.access_group)
        mailbox_personal_for(user)
        audit_event_record(
            actor=actor, action="membership.add", target=unit, before=None, after={"user": user.username}
        )
    return membership


@transaction.atomic
def membership_remove(*, unit: Unit, user, actor=None) -> None:
    deleted, _ = UnitMembership.objects.filter(unit=unit, user=user).delete()
    if deleted:
        # Access to the group mailbox is this group membership and nothing else: removing it revokes
        # access for the next query (guardian does not cache across requests).
        user.groups.remove(unit.group_mailbox.access_group)
        audit_event_record(
            actor=actor, action="membership.remove", target=unit, before={"user": user.username}, after=None
        )


# --- threads and messages -------------------------------------------------------------------


def thread_create(*, subject: str, kind: str = Thread.Kind.INTERNAL, citizen=None) -> Thread:
    return Thread.objects.create(subject=subject, kind=kind, citizen=citizen)


@transaction.atomic
def message_store(
    *,
    thread: Thread,
    sender,
    body: str,
    sender_mailbox: Mailbox | None = None,
    recipients: Sequence[Mailbox] = (),
    kind: str = Message.Kind.NORMAL,
    attachments: Iterable[Attachment] = (),
    created_at=None,
) -> Message:
    """Store a message (immutable from here on). Delivery to recipients is routing's job
    (absence.routing.route_message, enqueued on commit by the caller's service); the sender's own
    mailbox gets its read copy at once so the thread shows there as sent."""
    now = created_at or timezone.now()
    message = Message.objects.create(
        thread=thread, sender=sender, sender_mailbox=sender_mailbox, body=body, kind=kind, created_at=now
    )
    if recipients:
        message.recipients.set(recipients)
    attachment_ids = [a.pk for a in attachments]
    if attachment_ids:
        Attachment.objects.filter(pk__in=attachment_ids, message__isnull=True).update(message=message)
    Thread.objects.filter(pk=thread.pk, last_message_at__lt=now).update(last_message_at=now)
    if sender_mailbox is not None:
        deliveries_create(
            message=message,
            plans=[DeliveryPlan(mailbox_id=sender_mailbox.pk, reason=Delivery.Reason.SENT)],
            read_by=sender,
        )
    return message


@dataclass(frozen=True)
class DeliveryPlan:
    mailbox_id: int
    reason: str = Delivery.Reason.DIRECT
    forwarded_for_id: int | None = None
    # The mailbox whose copy this one was forwarded from (its delivery of the same message).
    forwarded_from_mailbox_id: int | None = None
    forwarded_by_id: int | None = None
    forward_note: str = ""


def _display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


@transaction.atomic
def deliveries_create(*, message: Message, plans: Sequence[DeliveryPlan], read_by=None) -> list[Delivery]:
    """Place `message` in each planned mailbox that does not hold it yet, and update the summaries.

    Idempotent: the unique (message, mailbox) constraint and the lock on the message row make a
    second call (or a concurrent one) create nothing. Returns the deliveries created by this call.
    """
    Message.objects.select_for_update().filter(pk=message.pk).values_list("pk", flat=True).first()
    existing = dict(Delivery.objects.filter(message=message).values_list("mailbox_id", "pk"))
    now = timezone.now()
    seen: set[int] = set(existing)
    new: list[Delivery] = []
    for plan in plans:
        if plan.mailbox_id in seen:
            continue
        seen.add(plan.mailbox_id)
        is_read = read_by is not None
        new.append(
            Delivery(
                message=message,
                mailbox_id=plan.mailbox_id,
                thread_id=message.thread_id,
                reason=plan.reason,
                forwarded_for_id=plan.forwarded_for_id,
                forwarded_by_id=plan.forwarded_by_id,
                forward_note=plan.forward_note,
                created_at=now,
                read_at=now if is_read else None,
                read_by=read_by if is_read else None,
            )
        )
    if not new:
        return []
    Delivery.objects.bulk_create(new)
    # Link forwarded copies to the copy they stand for (created now or earlier).
    plan_for = {}
    for plan in plans:
        plan_for.setdefault(plan.mailbox_id, plan)
    by_mailbox = existing | {d.mailbox_id: d.pk for d in new}
    links = []
    for delivery in new:
        origin = plan_for[delivery.mailbox_id].forwarded_from_mailbox_id
        if origin and origin in by_mailbox:
            delivery.forwarded_from_id = by_mailbox[origin]
            links.append(delivery)
    if links:
        Delivery.objects.bulk_update(links, ["forwarded_from"])
    away_origins = [d.forwarded_from_id for d in new if d.reason == Delivery.Reason.FORWARDED_ABSENCE]
    if away_origins:
        Delivery.objects.filter(pk__in=away_origins, away_forwarded_at__isnull=True).update(
            away_forwarded_at=now
        )
    _summaries_add(message=message, deliveries=new)
    return new


def _summaries_add(*, message: Message, deliveries: Sequence[Delivery]) -> None:
    sender_name = _display_name(message.sender) if message.sender_id else ""
    snippet = " ".join(message.body.split())[:SNIPPET_LENGTH]
    mailbox_ids = sorted({d.mailbox_id for d in deliveries})
    MailboxThread.objects.bulk_create(
        [
            MailboxThread(mailbox_id=mid, thread_id=message.thread_id, last_activity_at=message.created_at)
            for mid in mailbox_ids
        ],
        ignore_conflicts=True,
    )
    unread_by_mailbox = Counter(d.mailbox_id for d in deliveries if d.read_at is None)
    forwarded_for = {
        d.mailbox_id: d.forwarded_for_id for d in deliveries if d.reason == Delivery.Reason.FORWARDED_ABSENCE
    }
    names = {}
    if forwarded_for:
        from django.contrib.auth import get_user_model

        names = {
            u.pk: _display_name(u)
            for u in get_user_model().objects.filter(pk__in=set(forwarded_for.values()))
        }
    # One UPDATE per distinct (unread, forwarded) shape, rows locked in mailbox order.
    groups: dict[tuple[int, str], list[int]] = {}
    for mid in mailbox_ids:
        key = (unread_by_mailbox.get(mid, 0), names.get(forwarded_for.get(mid), ""))
        groups.setdefault(key, []).append(mid)
    for (unread, fwd_name), mids in sorted(groups.items(), key=lambda kv: kv[1][0]):
        list(
            MailboxThread.objects.select_for_update()
            .filter(thread_id=message.thread_id, mailbox_id__in=mids)
            .order_by("id")
            .values_list("id", flat=True)
        )
        updates = {
            "message_count": F("message_count") + 1,
            "unread_count": F("unread_count") + unread,
        }
        if fwd_name:
            updates["forwarded_for_name"] = fwd_name
        MailboxThread.objects.filter(
            thread_id=message.thread_id, mailbox_id__in=mids, last_activity_at__lte=message.created_at
        ).update(
            last_activity_at=message.created_at,
            latest_sender_name=sender_name,
            latest_snippet=snippet,
            **updates,
        )
        MailboxThread.objects.filter(
            thread_id=message.thread_id, mailbox_id__in=mids, last_activity_at__gt=message.created_at
        ).update(**updates)
        if unread:
            # A new unread message reopens the thread in that mailbox.
            MailboxThread.objects.filter(
                thread_id=message.thread_id, mailbox_id__in=mids, handled_at__isnull=False
            ).update(handled_at=None, handled_by=None)


@transaction.atomic
def deliveries_mark_read(*, mailbox: Mailbox, thread: Thread, user) -> int:
    """Mark this mailbox's unread copies of the thread read by `user`: one UPDATE plus the summary."""
    summary = MailboxThread.objects.select_for_update().filter(mailbox=mailbox, thread=thread).first()
    now = timezone.now()
    count = Delivery.objects.filter(mailbox=mailbox, thread=thread, read_at__isnull=True).update(
        read_at=now, read_by=user
    )
    if summary is not None and count:
        MailboxThread.objects.filter(pk=summary.pk).update(
            unread_count=Greatest(F("unread_count") - count, 0)
        )
    return count


# --- bulk deliveries (added by the absence feature: forwarding existing mail at the start of an ---
# --- absence and the sweep's guarantee-2 re-check; same rules as deliveries_create) ----------------


@transaction.atomic
def deliveries_create_many(*, plans_by_message: dict[int, Sequence[DeliveryPlan]]) -> list[Delivery]:
    """`deliveries_create` for many messages at once, in a fixed number of queries (a sick call with
    thousands of unread messages forwards them in one go).

    Same guarantees: one row per (message, mailbox) — existing rows are skipped; forwarded copies are
    linked to the copy they stand for (`forwarded_from`), which gets `away_forwarded_at`; the
    per-(mailbox, thread) summaries are updated in the same transaction. Lock order as everywhere:
    message rows by id, then summary rows by id. Returns the deliveries created by this call.
    """

    message_ids = sorted(plans_by_message)
    if not message_ids:
        return []
    # Plain tuples, not model instances: at thousands of rows the instances cost more than the query.
    messages = {
        row[0]: _MessageRow(*row)
        for row in Message.objects.select_for_update(of=("self",))
        .filter(pk__in=message_ids)
        .order_by("pk")
        .values_list("pk", "thread_id", "created_at", "sender_id")
    }
    existing = {
        (m, mb): pk
        for m, mb, pk in Delivery.objects.filter(message_id__in=list(messages)).values_list(
            "message_id", "mailbox_id", "pk"
        )
    }
    now = timezone.now()
    new: list[Delivery] = []
    plan_of: dict[tuple[int, int], DeliveryPlan] = {}
    for message_id in message_ids:
        message = messages.get(message_id)
        if message is None:
            continue
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
                    # Links to copies that already exist are set before the insert; links to copies
                    # made in this same call (a chain of forwards) after it.
                    forwarded_from_id=existing.get((message_id, origin)) if origin else None,
                    created_at=now,
                )
            )
    if not new:
        return []
    Delivery.objects.bulk_create(new, batch_size=1000)
    by_key = existing | {(d.message_id, d.mailbox_id): d.pk for d in new}
    chain_links = []
    for delivery in new:
        origin = plan_of[(delivery.message_id, delivery.mailbox_id)].forwarded_from_mailbox_id
        if origin and delivery.forwarded_from_id is None and (delivery.message_id, origin) in by_key:
            delivery.forwarded_from_id = by_key[(delivery.message_id, origin)]
            chain_links.append(delivery)
    if chain_links:
        Delivery.objects.bulk_update(chain_links, ["forwarded_from"], batch_size=1000)
    away_origins = [
        d.forwarded_from_id
        for d in new
        if d.reason == Delivery.Reason.FORWARDED_ABSENCE and d.forwarded_from_id is not None
    ]
    if away_origins:
        Delivery.objects.filter(pk__in=away_origins, away_forwarded_at__isnull=True).update(
            away_forwarded_at=now
        )
    _summaries_add_many(messages=messages, deliveries=new)
    return new


@dataclass(frozen=True)
class _MessageRow:
    pk: int
    thread_id: int
    created_at: object
    sender_id: int | None


def _summaries_add_many(*, messages: dict[int, _MessageRow], deliveries: Sequence[Delivery]) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # (mailbox, thread) -> the new deliveries there
    groups: dict[tuple[int, int], list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.mailbox_id, delivery.thread_id), []).append(delivery)
    user_ids = {messages[d.message_id].sender_id for d in deliveries if messages[d.message_id].sender_id}
    user_ids |= {d.forwarded_for_id for d in deliveries if d.forwarded_for_id}
    names = {u.pk: _display_name(u) for u in User.objects.filter(pk__in=user_ids)}

    def latest(items: list[Delivery]) -> _MessageRow:
        return max((messages[d.message_id] for d in items), key=lambda m: (m.created_at, m.pk))

    MailboxThread.objects.bulk_create(
        [
            MailboxThread(mailbox_id=mid, thread_id=tid, last_activity_at=latest(items).created_at)
            for (mid, tid), items in groups.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    mailbox_ids = {mid for mid, _ in groups}
    thread_ids = {tid for _, tid in groups}
    rows = [
        row
        for row in MailboxThread.objects.select_for_update()
        .filter(mailbox_id__in=mailbox_ids, thread_id__in=thread_ids)
        .order_by("id")
        if (row.mailbox_id, row.thread_id) in groups
    ]
    newest_ids = {latest(groups[(row.mailbox_id, row.thread_id)]).pk for row in rows}
    bodies = dict(Message.objects.filter(pk__in=newest_ids).values_list("pk", "body"))
    for row in rows:
        items = groups[(row.mailbox_id, row.thread_id)]
        newest = latest(items)
        unread = sum(1 for d in items if d.read_at is None)
        row.message_count += len(items)
        row.unread_count += unread
        if newest.created_at >= row.last_activity_at:
            row.last_activity_at = newest.created_at
            row.latest_sender_name = names.get(newest.sender_id, "") if newest.sender_id else ""
            row.latest_snippet = " ".join(bodies[newest.pk].split())[:SNIPPET_LENGTH]
        forwarded = [d for d in items if d.reason == Delivery.Reason.FORWARDED_ABSENCE and d.forwarded_for_id]
        if forwarded:
            newest_fwd = max(forwarded, key=lambda d: (messages[d.message_id].created_at, d.message_id))
            row.forwarded_for_name = names.get(newest_fwd.forwarded_for_id, "")
        if unread:
            # A new unread message reopens the thread in that mailbox.
            row.handled_at = None
            row.handled_by = None
    if not rows:
        return
    # One prepared UPDATE per row, sent as a batch (executemany): bulk_update's CASE expressions cost
    # more to build in Python than the whole database round trip for a sick call's thousands of rows.
    ops = connection.ops
    table = ops.quote_name(MailboxThread._meta.db_table)
    columns = [
        "message_count",
        "unread_count",
        "last_activity_at",
        "latest_sender_name",
        "latest_snippet",
        "forwarded_for_name",
        "handled_at",
        "handled_by_id",
    ]
    assignments = ", ".join(f"{ops.quote_name(c)} = %s" for c in columns)
    params = [
        (
            row.message_count,
            row.unread_count,
            ops.adapt_datetimefield_value(row.last_activity_at),
            row.latest_sender_name,
            row.latest_snippet,
            row.forwarded_for_name,
            ops.adapt_datetimefield_value(row.handled_at),
            row.handled_by_id,
            row.pk,
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {ops.quote_name('id')} = %s", params)  # noqa: S608
