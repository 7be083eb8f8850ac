"""Every write to units, membership, mailboxes, threads, messages and deliveries goes through here.

Lock order, so that two workers never deadlock: message row, then summary rows by ascending id.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.services import audit_event_record
from lifemsg.inserts import insert_from_sql, insert_params, mark_inserted

from . import hooks
from .attachments import attachments_check_attachable
from .models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread, Unit, UnitMembership

logger = logging.getLogger(__name__)

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
    """Store a message (immutable from here on), with `attachments`: the sender's own uploads not
    yet attached to a message (PermissionDenied for any other). Delivery to recipients is routing's job
    (absence.routing.route_message, enqueued on commit by the caller's service); the sender's own
    mailbox gets its read copy at once so the thread shows there as sent."""
    attachments = list(attachments)
    attachments_check_attachable(attachments, sender=sender)  # before anything is written
    now = created_at or timezone.now()
    message = Message(
        thread=thread, sender=sender, sender_mailbox=sender_mailbox, body=body, kind=kind, created_at=now
    )
    more = bool(recipients or attachments or sender_mailbox is not None)
    # A plain message (a citizen's send) is one statement on PostgreSQL, its own transaction when the
    # caller has none; anything more goes in one transaction. No savepoint of its own inside a
    # caller's transaction (every caller lets its errors propagate): two statements fewer.
    with transaction.atomic(savepoint=False) if more else nullcontext():
        _message_insert(message)
        if recipients:
            message.recipients.set(recipients)
        attachment_ids = [a.pk for a in attachments]
        if attachment_ids:
            Attachment.objects.filter(pk__in=attachment_ids, message__isnull=True).update(message=message)
        if sender_mailbox is not None:
            deliveries_create(
                message=message,
                plans=[DeliveryPlan(mailbox_id=sender_mailbox.pk, reason=Delivery.Reason.SENT)],
                read_by=sender,
            )
    return message


def _message_insert(message: Message) -> None:
    """Write a new message and move its thread's last_message_at on to it. On PostgreSQL in one
    statement (the statement of message_store_if, with a guard that names the thread itself): the
    ORM's save() and a second round trip cost the citizen's send more than the database's work."""
    if connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            message.save(force_insert=True)
            Thread.objects.filter(pk=message.thread_id, last_message_at__lt=message.created_at).update(
                last_message_at=message.created_at
            )
        return
    thread_type = Thread._meta.pk.rel_db_type(connection)
    _message_insert_guarded(message, guard=(f"SELECT %s::{thread_type} AS thread_id", [message.thread_id]))


def message_store_if(*, guard: tuple[str, list], sender, body: str) -> Message | None:
    """A plain message (no recipients, attachments or sender mailbox: a citizen's send) into the
    thread that `guard` selects, stored only if the guard finds its row, in the same statement (so
    nothing can change in between). `guard` is SQL selecting at most one row with a `thread_id`
    column, and its parameters: a permission check that names the thread (see
    eservices.permissions.citizen_open_case_guard). Returns the message, or None when the guard found
    nothing and nothing was stored. PostgreSQL only."""
    message = Message(sender=sender, body=body, created_at=timezone.now())
    return message if _message_insert_guarded(message, guard=guard) else None


def _message_insert_guarded(message: Message, *, guard: tuple[str, list]) -> bool:
    """INSERT `message` into the thread `guard` selects, with the thread's last_message_at moved on
    (both as WITH queries); False if the guard selected nothing and nothing was written."""
    sql, guard_params = guard
    at = Thread._meta.get_field("last_message_at").get_db_prep_save(message.created_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _message_insert_sql(sql), [*guard_params, at, at, *insert_params([message], skip=_FROM_GUARD)]
        )
        row = cursor.fetchone()
    if row is None:
        return False
    message.thread_id = row[1]
    mark_inserted([message], [row[0]])
    return True


_FROM_GUARD = ("thread_id",)


@cache
def _message_insert_sql(guard_sql: str) -> str:
    qn = connection.ops.quote_name
    last = qn(Thread._meta.get_field("last_message_at").column)
    with_ = (
        f"WITH guard AS ({guard_sql}), "  # noqa: S608 (the guard is compiled SQL; values are parameters)
        f"thread AS (UPDATE {qn(Thread._meta.db_table)} SET {last} = %s "
        f"WHERE {qn(Thread._meta.pk.column)} = (SELECT thread_id FROM guard) AND {last} < %s) "
    )
    return insert_from_sql(Message, source="guard", from_source=_FROM_GUARD, with_=with_) + ", thread_id"


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


def _delivery_from_plan(plan: DeliveryPlan, *, message_id: int, thread_id: int, now, **extra) -> Delivery:
    """The unsaved delivery row a plan asks for (shared by deliveries_create and _many)."""
    return Delivery(
        message_id=message_id,
        mailbox_id=plan.mailbox_id,
        thread_id=thread_id,
        reason=plan.reason,
        forwarded_for_id=plan.forwarded_for_id,
        forwarded_by_id=plan.forwarded_by_id,
        forward_note=plan.forward_note,
        created_at=now,
        **extra,
    )


@transaction.atomic
def deliveries_create(*, message: Message, plans: Sequence[DeliveryPlan], read_by=None) -> list[Delivery]:
    """Place `message` in each planned mailbox that does not hold it yet, and update the summaries.

    Idempotent: the unique (message, mailbox) constraint and the lock on the message row make a
    second call (or a concurrent one) create nothing. Returns the deliveries created by this call.
    """
    # Lock the message row (no ORDER BY: Message's default ordering is of no use to a lock).
    list(Message.objects.select_for_update().filter(pk=message.pk).order_by().values_list("pk", flat=True))
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
            _delivery_from_plan(
                plan,
                message_id=message.pk,
                thread_id=message.thread_id,
                now=now,
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


def _counterpart_names(*, message: Message, mailbox_ids: Sequence[int]) -> dict[int, str]:
    """Who each mailbox's summary names as the other party: the citizen of a citizen thread; on an
    internal thread the sender, or on the sender's own copy the recipients."""
    thread = message.thread
    if thread.kind == Thread.Kind.CITIZEN:
        from django.contrib.auth import get_user_model

        citizen = get_user_model().objects.filter(pk=thread.citizen_id).first()
        name = _display_name(citizen)
        return dict.fromkeys(mailbox_ids, name)
    sender_name = _display_name(message.sender) if message.sender_id else ""
    names: dict[int, str] = {}
    recipients: str | None = None
    for mid in mailbox_ids:
        if mid == message.sender_mailbox_id:
            if recipients is None:
                recipients = ", ".join(m.name for m in message.recipients.order_by("-kind", "name"))
            names[mid] = recipients
        else:
            names[mid] = sender_name
    return names


def _summaries_add(*, message: Message, deliveries: Sequence[Delivery]) -> None:
    sender_name = _display_name(message.sender) if message.sender_id else ""
    snippet = " ".join(message.body.split())[:SNIPPET_LENGTH]
    mailbox_ids = sorted({d.mailbox_id for d in deliveries})
    existing = set(
        MailboxThread.objects.filter(thread_id=message.thread_id, mailbox_id__in=mailbox_ids).values_list(
            "mailbox_id", flat=True
        )
    )
    missing = [mid for mid in mailbox_ids if mid not in existing]
    if missing:
        counterparts = _counterpart_names(message=message, mailbox_ids=missing)
        MailboxThread.objects.bulk_create(
            [
                MailboxThread(
                    mailbox_id=mid,
                    thread_id=message.thread_id,
                    last_activity_at=message.created_at,
                    counterpart_name=counterparts.get(mid, "")[:200],
                )
                for mid in missing
            ],
            ignore_conflicts=True,
        )
    unread_by_mailbox = Counter(d.mailbox_id for d in deliveries if d.read_at is None)
    forwarded_for = {
        d.mailbox_id: d.forwarded_for_id for d in deliveries if d.reason == Delivery.Reason.FORWARDED_ABSENCE
    }
    forwarded_by = {
        d.mailbox_id: d.forwarded_by_id for d in deliveries if d.reason == Delivery.Reason.FORWARDED_MANUAL
    }
    names = {}
    wanted = {uid for uid in (*forwarded_for.values(), *forwarded_by.values()) if uid}
    if wanted:
        from django.contrib.auth import get_user_model

        names = {u.pk: _display_name(u) for u in get_user_model().objects.filter(pk__in=wanted)}
    # One UPDATE per distinct (unread, forwarded-for, forwarded-by) shape, rows locked in id order.
    groups: dict[tuple[int, str, str], list[int]] = {}
    for mid in mailbox_ids:
        key = (
            unread_by_mailbox.get(mid, 0),
            names.get(forwarded_for.get(mid), ""),
            names.get(forwarded_by.get(mid), ""),
        )
        groups.setdefault(key, []).append(mid)
    created = Value(message.created_at, output_field=models.DateTimeField())
    is_latest = Q(last_activity_at__lte=message.created_at)
    for (unread, fwd_name, fwd_by_name), mids in sorted(groups.items(), key=lambda kv: kv[1][0]):
        rows = MailboxThread.objects.filter(thread_id=message.thread_id, mailbox_id__in=mids)
        if len(mids) > 1:
            # Several rows: locked in id order first, as everywhere. One row is locked by its UPDATE.
            list(rows.select_for_update().order_by("id").values_list("id", flat=True))
        # One UPDATE per shape. Its SET expressions all read the row as it was, so the latest
        # sender and snippet change only where this message is the newest (an older message that
        # arrives late only adds to the counts).
        updates = {
            "message_count": F("message_count") + 1,
            "unread_count": F("unread_count") + unread,
            "last_activity_at": Greatest(F("last_activity_at"), created),
            "latest_sender_name": Case(
                When(is_latest, then=Value(sender_name)), default=F("latest_sender_name")
            ),
            "latest_snippet": Case(When(is_latest, then=Value(snippet)), default=F("latest_snippet")),
        }
        if fwd_name:
            updates["forwarded_for_name"] = fwd_name
        if fwd_by_name:
            updates["forwarded_by_name"] = fwd_by_name
        if unread:
            # A new unread message reopens the thread in that mailbox.
            updates["handled_at"] = None
            updates["handled_by"] = None
        rows.update(**updates)


def deliveries_mark_read(*, mailbox: Mailbox, thread: Thread, user) -> int:
    """Mark this mailbox's unread copies of the thread read by `user` and lower the summary's unread
    count by exactly the rows changed, atomically; returns that number. A delivery committed
    concurrently (counted +1 by its own transaction) stays unread and counted.

    On PostgreSQL this is one statement (a data-modifying CTE), so opening a thread costs one round
    trip; elsewhere two UPDATEs in one transaction."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_MARK_READ_SQL, [now, user.pk, mailbox.pk, thread.pk, mailbox.pk, thread.pk])
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


_MARK_READ_SQL = f"""
WITH marked AS (
    UPDATE {Delivery._meta.db_table} SET read_at = %s, read_by_id = %s
    WHERE mailbox_id = %s AND thread_id = %s AND read_at IS NULL
    RETURNING 1
)
UPDATE {MailboxThread._meta.db_table}
SET unread_count = GREATEST(unread_count - (SELECT count(*) FROM marked), 0)
WHERE mailbox_id = %s AND thread_id = %s AND EXISTS (SELECT 1 FROM marked)
RETURNING (SELECT count(*) FROM marked)
"""  # noqa: S608 - table names come from the models, values are parameters


# --- staff writing in threads (routing is enqueued by mailboxes.sending, not here) -----------


@transaction.atomic
def internal_thread_start(
    *, sender, recipients: Sequence[Mailbox], subject: str, body: str, attachments: Iterable[Attachment] = ()
) -> Message:
    """A new internal thread: stored with the sender's read copy in their personal mailbox. The caller
    enqueues routing (absence.routing.message_route_on_commit), which delivers to `recipients`."""
    thread = thread_create(subject=subject)
    return message_store(
        thread=thread,
        sender=sender,
        sender_mailbox=mailbox_personal_for(sender),
        recipients=recipients,
        body=body,
        attachments=attachments,
    )


@transaction.atomic
def internal_reply_store(
    *,
    thread: Thread,
    sender,
    via_mailbox: Mailbox,
    recipients: Sequence[Mailbox],
    body: str,
    attachments: Iterable[Attachment] = (),
) -> Message:
    """A reply in an internal thread. The sender's personal mailbox keeps the sent copy; written from a
    group mailbox, that mailbox gets a read copy too so its members see the answer in the thread."""
    personal = mailbox_personal_for(sender)
    message = message_store(
        thread=thread,
        sender=sender,
        sender_mailbox=personal,
        recipients=recipients,
        body=body,
        attachments=attachments,
    )
    sent_copy_add(message=message, mailbox=via_mailbox, user=sender)
    return message


def sent_copy_add(*, message: Message, mailbox: Mailbox | None, user) -> None:
    """A read copy of `message` in `mailbox` (no-op if it holds it already)."""
    if mailbox is None or mailbox.pk == message.sender_mailbox_id:
        return
    deliveries_create(
        message=message,
        plans=[DeliveryPlan(mailbox_id=mailbox.pk, reason=Delivery.Reason.SENT)],
        read_by=user,
    )


@transaction.atomic
def note_add(*, thread: Thread, author, via_mailbox: Mailbox, body: str) -> Message:
    """An internal note in a thread: staff only, never shown to the citizen and never routed. It shows
    in the thread for everyone who can open it; the mailbox it was written from gets a read copy."""
    return message_store(
        thread=thread, sender=author, sender_mailbox=via_mailbox, body=body, kind=Message.Kind.NOTE
    )


# --- work on a thread in a mailbox: take, release, handled, reopen ---------------------------
#
# Each change applies to the mailbox's deliveries of the thread and its summary, and is mirrored onto
# the copies they were forwarded from (Delivery.forwarded_from, followed back to the first copy), so
# an absent handler's own copy shows who took and handled it. Lock order as everywhere: delivery rows
# (by id), then summary rows (by id).


def _origin_delivery_ids(*, mailbox: Mailbox, thread: Thread) -> list[int]:
    frontier = set(
        Delivery.objects.filter(mailbox=mailbox, thread=thread, forwarded_from__isnull=False).values_list(
            "forwarded_from_id", flat=True
        )
    )
    seen: set[int] = set()
    # A chain is at most FORWARDING_MAX_DEPTH forwards long (plus a manual forward on top).
    for _ in range(settings.FORWARDING_MAX_DEPTH + 2):
        frontier -= seen
        if not frontier:
            break
        seen |= frontier
        frontier = set(
            Delivery.objects.filter(pk__in=frontier, forwarded_from__isnull=False).values_list(
                "forwarded_from_id", flat=True
            )
        )
    return sorted(seen)


def _thread_state_apply(
    *,
    mailbox: Mailbox,
    thread: Thread,
    delivery_filter: Q,
    delivery_updates: dict,
    summary_filter: Q,
    summary_updates: dict,
) -> int:
    origin_ids = _origin_delivery_ids(mailbox=mailbox, thread=thread)
    scope = Q(mailbox=mailbox, thread=thread) | Q(pk__in=origin_ids)
    rows = list(
        Delivery.objects.select_for_update().filter(scope).order_by("id").values_list("id", "mailbox_id")
    )
    changed = (
        Delivery.objects.filter(pk__in=[r[0] for r in rows])
        .filter(delivery_filter)
        .update(**delivery_updates)
    )
    mailbox_ids = sorted({mailbox.pk, *(r[1] for r in rows)})
    list(
        MailboxThread.objects.select_for_update()
        .filter(thread=thread, mailbox_id__in=mailbox_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
    MailboxThread.objects.filter(thread=thread, mailbox_id__in=mailbox_ids).filter(summary_filter).update(
        **summary_updates
    )
    return changed


@transaction.atomic
def thread_take(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """ "I'm handling this": shown to every member and on the original recipient's copy."""
    now = timezone.now()
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(),
        delivery_updates={"taken_by": user, "taken_at": now},
        summary_filter=Q(),
        summary_updates={"taken_by": user, "taken_at": now},
    )


@transaction.atomic
def thread_release(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """Give back a thread one has taken (only one's own take is undone)."""
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(taken_by=user),
        delivery_updates={"taken_by": None, "taken_at": None},
        summary_filter=Q(taken_by=user),
        summary_updates={"taken_by": None, "taken_at": None},
    )


@transaction.atomic
def thread_mark_handled(*, mailbox: Mailbox, thread: Thread, user) -> None:
    now = timezone.now()
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(handled_at__isnull=True),
        delivery_updates={"handled_by": user, "handled_at": now},
        summary_filter=Q(),
        summary_updates={"handled_by": user, "handled_at": now},
    )
    for hook in hooks.AFTER_HANDLED:
        hook(mailbox=mailbox, thread=thread, user=user)


@transaction.atomic
def thread_reopen(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """Undo "handled" (marked by mistake, or more is needed)."""
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(handled_at__isnull=False),
        delivery_updates={"handled_by": None, "handled_at": None},
        summary_filter=Q(),
        summary_updates={"handled_by": None, "handled_at": None},
    )


@transaction.atomic
def thread_forward(
    *, mailbox: Mailbox, thread: Thread, target: Mailbox, user, note: str = ""
) -> Delivery | None:
    """Forward a thread by hand from `mailbox` to `target` (a group mailbox): the latest message the
    mailbox holds is placed there unread, marked as forwarded by `user` with the note. The target's
    members then open the whole thread through it. Returns None if the target already holds it."""
    source = (
        Delivery.objects.filter(mailbox=mailbox, thread=thread)
        .select_related("message__thread", "message__sender")
        .order_by(
            models.Case(models.When(message__kind=Message.Kind.NORMAL, then=0), default=1),
            "-message__created_at",
            "-message_id",
        )
        .first()
    )
    if source is None:
        return None
    created = deliveries_create(
        message=source.message,
        plans=[
            DeliveryPlan(
                mailbox_id=target.pk,
                reason=Delivery.Reason.FORWARDED_MANUAL,
                forwarded_from_mailbox_id=mailbox.pk,
                forwarded_by_id=user.pk,
                forward_note=note,
            )
        ],
    )
    if not created:
        return None
    audit_event_record(
        actor=user,
        action="thread.forward",
        target=thread,
        after={"from_mailbox": mailbox.pk, "to_mailbox": target.pk, "message": source.message_id},
    )
    return created[0]


def access_log_citizen_read(*, user, **read):
    """The access-log entry for a staff read of a citizen thread (or its attachment, or a forward);
    `read` holds `_citizen_read_entry`'s arguments (action, route, thread, mailbox, case, ...).
    Called before anything is rendered; if it raises, the read fails."""
    from audit.services import access_log_record

    return access_log_record(user=user, **_citizen_read_entry(**read))


def access_log_citizen_reads(*, user, reads: list[dict]):
    """Several reads at once (a search result page naming several citizens), each a dict of
    `access_log_citizen_read`'s keyword arguments except `user`: written together, or not at all."""
    from audit.services import access_log_record_many

    return access_log_record_many(user=user, entries=[_citizen_read_entry(**read) for read in reads])


def _citizen_read_entry(
    *,
    action: str,
    route: str,
    thread: Thread,
    mailbox: Mailbox | None = None,
    case=None,
    object_type: str = "thread",
    object_id: int | None = None,
    detail: dict | None = None,
) -> dict:
    unit_id = mailbox.unit_id if mailbox is not None and mailbox.unit_id else getattr(case, "unit_id", None)
    return {
        "action": action,
        "route": route,
        "object_type": object_type,
        "object_id": object_id if object_id is not None else thread.pk,
        "thread_id": thread.pk,
        "mailbox_id": mailbox.pk if mailbox is not None else None,
        "case_id": case.pk if case is not None else None,
        "unit_id": unit_id,
        "citizen_id": thread.citizen_id,
        "detail": detail,
    }


# --- group-mailbox access is exactly the unit's membership (added with the administration UI) ------


@transaction.atomic
def group_mailbox_access_reset(
    *, unit: Unit, actor=None, user=None, reason: str = ""
) -> dict[str, list[str]]:
    """Make access to the unit's group mailbox exactly the unit's membership: take away access held any
    other way (in the access group without membership, a direct guardian permission on the mailbox,
    another group's permission on it) and give it back to members who lost it. With `user`, only
    that person's access is set right. Audited as mailbox_access.revoke / .restore with who and what.

    membership_add/membership_remove keep this true on their own; this repairs what was changed
    around them (the Django admin, a script) so cross-unit access is only ever an explicit membership.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    mailbox = Mailbox.objects.select_related("access_group").get(unit=unit)
    group = mailbox.access_group
    User = get_user_model()
    members = set(UnitMembership.objects.filter(unit=unit).values_list("user_id", flat=True))
    in_group = set(group.user_set.values_list("pk", flat=True))
    perm_rows = {
        "content_type": ContentType.objects.get_for_model(Mailbox),
        "object_pk": str(mailbox.pk),
        "permission__codename": "access_mailbox",
    }
    direct = UserObjectPermission.objects.filter(**perm_rows)
    other_groups = GroupObjectPermission.objects.filter(**perm_rows).exclude(group=group)
    if user is not None:
        members &= {user.pk}
        in_group &= {user.pk}
        direct = direct.filter(user=user)
        other_groups = other_groups.none()
    strays = in_group - members
    missing = members - in_group
    direct_ids = set(direct.values_list("user_id", flat=True))
    group_names = sorted(other_groups.values_list("group__name", flat=True))
    names = dict(User.objects.filter(pk__in=strays | missing | direct_ids).values_list("pk", "username"))
    if strays:
        group.user_set.remove(*strays)
    if direct_ids:
        direct.delete()
    if group_names:
        other_groups.delete()
    if missing:
        group.user_set.add(*missing)
    summary = {
        "removed_from_access_group": sorted(names[i] for i in strays),
        "direct_permissions_removed": sorted(names[i] for i in direct_ids),
        "group_permissions_removed": group_names,
        "restored_to_members": sorted(names[i] for i in missing),
    }
    revoked = {k: v for k, v in summary.items() if v and k != "restored_to_members"}
    if revoked:
        audit_event_record(
            actor=actor,
            action="mailbox_access.revoke",
            target=unit,
            before=revoked,
            after=None,
            reason=reason,
        )
    if missing:
        audit_event_record(
            actor=actor,
            action="mailbox_access.restore",
            target=unit,
            before=None,
            after={"users": summary["restored_to_members"]},
            reason=reason,
        )
    return summary


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
        .values_list(
            "pk",
            "thread_id",
            "created_at",
            "sender_id",
            "sender_mailbox_id",
            "thread__kind",
            "thread__citizen_id",
        )
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
                _delivery_from_plan(
                    plan,
                    message_id=message_id,
                    thread_id=message.thread_id,
                    now=now,
                    # Links to copies that already exist are set before the insert; links to copies
                    # made in this same call (a chain of forwards) after it.
                    forwarded_from_id=existing.get((message_id, origin)) if origin else None,
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
    sender_mailbox_id: int | None
    thread_kind: str
    citizen_id: int | None


def _summaries_add_many(*, messages: dict[int, _MessageRow], deliveries: Sequence[Delivery]) -> None:
    """`_summaries_add` for many messages: same fields, same rules (counterpart on new rows, latest
    sender and snippet when newer, forwarded-for/by names, reopen on unread), a fixed number of
    queries."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # (mailbox, thread) -> the new deliveries there
    groups: dict[tuple[int, int], list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.mailbox_id, delivery.thread_id), []).append(delivery)
    user_ids = {m.sender_id for m in messages.values() if m.sender_id}
    user_ids |= {m.citizen_id for m in messages.values() if m.citizen_id}
    user_ids |= {d.forwarded_for_id for d in deliveries if d.forwarded_for_id}
    user_ids |= {d.forwarded_by_id for d in deliveries if d.forwarded_by_id}
    names = {u.pk: _display_name(u) for u in User.objects.filter(pk__in=user_ids)}

    def latest(items: list[Delivery]) -> _MessageRow:
        return max((messages[d.message_id] for d in items), key=lambda m: (m.created_at, m.pk))

    mailbox_ids = {mid for mid, _ in groups}
    thread_ids = {tid for _, tid in groups}
    existing = set(
        MailboxThread.objects.filter(mailbox_id__in=mailbox_ids, thread_id__in=thread_ids).values_list(
            "mailbox_id", "thread_id"
        )
    )
    missing = [key for key in groups if key not in existing]
    if missing:
        recipients_of = _recipient_names(
            [latest(groups[key]).pk for key in missing if latest(groups[key]).sender_mailbox_id == key[0]]
        )

        def counterpart(key: tuple[int, int]) -> str:
            # As _counterpart_names: the citizen; on an internal thread the sender, or on the
            # sender's own copy the recipients.
            message = latest(groups[key])
            if message.thread_kind == Thread.Kind.CITIZEN:
                return names.get(message.citizen_id, "")
            if message.sender_mailbox_id == key[0]:
                return recipients_of.get(message.pk, "")
            return names.get(message.sender_id, "")

        MailboxThread.objects.bulk_create(
            [
                MailboxThread(
                    mailbox_id=mid,
                    thread_id=tid,
                    last_activity_at=latest(groups[(mid, tid)]).created_at,
                    counterpart_name=counterpart((mid, tid))[:200],
                )
                for mid, tid in missing
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
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
        for reason, attr, name_field in (
            (Delivery.Reason.FORWARDED_ABSENCE, "forwarded_for_id", "forwarded_for_name"),
            (Delivery.Reason.FORWARDED_MANUAL, "forwarded_by_id", "forwarded_by_name"),
        ):
            tagged = [d for d in items if d.reason == reason and getattr(d, attr)]
            if tagged:
                newest_tagged = max(tagged, key=lambda d: (messages[d.message_id].created_at, d.message_id))
                setattr(row, name_field, names.get(getattr(newest_tagged, attr), ""))
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
        "forwarded_by_name",
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
            row.forwarded_by_name,
            ops.adapt_datetimefield_value(row.handled_at),
            row.handled_by_id,
            row.pk,
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {ops.quote_name('id')} = %s", params)  # noqa: S608


def _recipient_names(message_ids: list[int]) -> dict[int, str]:
    """{message id: "Recipient A, Recipient B"} as _counterpart_names orders them (groups first)."""
    if not message_ids:
        return {}
    through = Message.recipients.through
    found: dict[int, list[str]] = {}
    for message_id, name in (
        through.objects.filter(message_id__in=message_ids)
        .order_by("message_id", "-mailbox__kind", "mailbox__name")
        .values_list("message_id", "mailbox__name")
    ):
        found.setdefault(message_id, []).append(name)
    return {mid: ", ".join(names) for mid, names in found.items()}


# --- retention: messages past MESSAGE_RETENTION_DAYS (called nightly by audit.retention) ----------
#
# A message goes together with everything that exists only because of it. Every row in any app with a
# foreign key to Message, Delivery or Thread is listed here with what happens to it
# (tests/mailboxes/test_retention.py fails when a new one appears that this does not know about):
#
# - Delivery (the message's copies in mailboxes): deleted. Delivery.forwarded_from links among them
#   are cleared first (PROTECT); a forwarded copy is always of the same message, so a chain goes as
#   a whole.
# - absence.GroupUnreadEscalation (one per delivery, "the unit manager was told"): deleted with its
#   delivery; it records nothing the delivery does not.
# - Attachment: rows deleted, files removed from storage once the transaction has committed (a
#   rolled-back batch keeps its files).
# - Message.recipients (the addressed mailboxes): deleted.
# - eservices.NotificationLog ("the citizen was notified of this message"): deleted; it holds no
#   content and only serves to not notify twice about a message that is gone.
# - absence.AutoReply (the out-of-office reply record: its `message` and the citizen message it
#   answered, `in_reply_to`): deleted when either message goes. It only stops a second reply in the
#   same thread during the same absence; once the reply is gone from the thread, the citizen is no
#   longer shown it, so another one may be sent. (The reply comes seconds after the message it
#   answers, so both normally go in the same run.)
# - MailboxThread (per-mailbox summary): recomputed from the remaining deliveries, deleted when none
#   is left. See _summaries_recompute for each field.
# - Thread: deleted when it has no message left, unless eservices.Case points at it (PROTECT; cases
#   follow the case system's retention) or integrations.ThreadExport does (the record of what was
#   journalled to the case file; it always has a case too). A kept thread has no summary, so it
#   leaves every inbox; its case still shows it.
#
# Not touched, because nothing there is a foreign key: the access log (object, thread, mailbox and
# case ids are plain integers; it has its own retention), AuditEvent (target ids are text),
# ThreadExport.message_ids (a JSON list: what was exported, kept as the journal's record) and
# integrations.WebhookDelivery (payloads carry ids, never content; they are the outbox to the case
# system).

RETENTION_BATCH_SIZE = 500


@dataclass
class MessageRetentionCounts:
    messages: int = 0
    deliveries: int = 0
    attachments: int = 0
    recipients: int = 0
    notifications: int = 0
    auto_replies: int = 0
    escalations: int = 0
    summaries_updated: int = 0
    summaries_deleted: int = 0
    threads_deleted: int = 0
    # Threads left without messages that stay because a case (or an export to it) points at them.
    threads_kept: int = 0

    def add(self, other: MessageRetentionCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class MessageRetentionResult:
    cutoff: dt.datetime
    counts: MessageRetentionCounts
    batches: int = 0
    dry_run: bool = False


def messages_delete_expired(
    *,
    cutoff: dt.datetime,
    batch_size: int = RETENTION_BATCH_SIZE,
    retention_days: int | None = None,
) -> MessageRetentionResult:
    """Delete every message received before `cutoff`, with what refers to it (see above), in batches
    of `batch_size` messages. Each batch is one transaction that also writes its audit event
    (`retention.messages`, counts only), so the audit log never misses a deletion that was committed
    nor records one that was rolled back. Idempotent: a second run finds nothing and records nothing.
    Meant to be called outside any transaction, so that each batch commits (and its files go) on its
    own."""
    result = MessageRetentionResult(cutoff=cutoff, counts=MessageRetentionCounts())
    while True:
        counts = _messages_delete_batch(cutoff=cutoff, batch_size=batch_size, retention_days=retention_days)
        if counts is None:
            break
        result.counts.add(counts)
        result.batches += 1
        if counts.messages < batch_size:
            break
    return result


def messages_expired_count(*, cutoff: dt.datetime) -> MessageRetentionResult:
    """What messages_delete_expired(cutoff=...) would delete, counted without locking or writing (the
    summaries it would recompute are not counted)."""
    from absence.models import AutoReply, GroupUnreadEscalation
    from eservices.models import Case as CitizenCase
    from eservices.models import NotificationLog
    from integrations.models import ThreadExport

    expired = Message.objects.filter(created_at__lt=cutoff)
    # Threads whose every message is past the period.
    emptied = Thread.objects.filter(Exists(expired.filter(thread_id=OuterRef("pk")))).exclude(
        Exists(Message.objects.filter(thread_id=OuterRef("pk"), created_at__gte=cutoff))
    )
    kept = Q(Exists(CitizenCase.objects.filter(thread_id=OuterRef("pk")))) | Q(
        Exists(ThreadExport.objects.filter(thread_id=OuterRef("pk")))
    )
    counts = MessageRetentionCounts(
        messages=expired.count(),
        deliveries=Delivery.objects.filter(message__created_at__lt=cutoff).count(),
        attachments=Attachment.objects.filter(message__created_at__lt=cutoff).count(),
        recipients=Message.recipients.through.objects.filter(message__created_at__lt=cutoff).count(),
        notifications=NotificationLog.objects.filter(message__created_at__lt=cutoff).count(),
        auto_replies=AutoReply.objects.filter(
            Q(message__created_at__lt=cutoff) | Q(in_reply_to__created_at__lt=cutoff)
        ).count(),
        escalations=GroupUnreadEscalation.objects.filter(delivery__message__created_at__lt=cutoff).count(),
        threads_deleted=emptied.exclude(kept).count(),
        threads_kept=emptied.filter(kept).count(),
    )
    return MessageRetentionResult(cutoff=cutoff, counts=counts, dry_run=True)


# absence, eservices and integrations build on mailboxes (their models import ours): their models are
# imported where retention needs them, not at the top.
@transaction.atomic
def _messages_delete_batch(
    *, cutoff: dt.datetime, batch_size: int, retention_days: int | None
) -> MessageRetentionCounts | None:
    from absence.models import AutoReply, GroupUnreadEscalation
    from eservices.models import Case as CitizenCase
    from eservices.models import NotificationLog
    from integrations.models import ThreadExport

    # Lock order as everywhere in this module: message rows, then delivery rows, then summary rows,
    # each by id (thread rows last: nothing else locks them).
    locked = list(
        Message.objects.select_for_update()
        .filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", "thread_id")[:batch_size]
    )
    if not locked:
        return None
    message_ids = [pk for pk, _thread_id in locked]
    thread_ids = sorted({thread_id for _pk, thread_id in locked})
    counts = MessageRetentionCounts()
    deliveries = list(
        Delivery.objects.select_for_update()
        .filter(message_id__in=message_ids)
        .order_by("pk")
        .values_list("pk", "mailbox_id", "thread_id", "reason")
    )
    delivery_ids = [pk for pk, *_ in deliveries]
    # The summaries of the (mailbox, thread) pairs that lose a delivery, and which forward tags they
    # lose with it.
    touched: dict[tuple[int, int], set[str]] = {}
    for _pk, mailbox_id, thread_id, reason in deliveries:
        touched.setdefault((mailbox_id, thread_id), set()).add(reason)
    summaries = [
        row
        for row in MailboxThread.objects.select_for_update().filter(thread_id__in=thread_ids).order_by("id")
        if (row.mailbox_id, row.thread_id) in touched
    ]

    counts.escalations, _ = GroupUnreadEscalation.objects.filter(delivery_id__in=delivery_ids).delete()
    Delivery.objects.filter(forwarded_from_id__in=delivery_ids).update(forwarded_from=None)
    counts.deliveries = _deleted(Delivery.objects.filter(pk__in=delivery_ids), Delivery)
    counts.auto_replies, _ = AutoReply.objects.filter(
        Q(message_id__in=message_ids) | Q(in_reply_to_id__in=message_ids)
    ).delete()
    counts.notifications, _ = NotificationLog.objects.filter(message_id__in=message_ids).delete()
    attachments = Attachment.objects.filter(message_id__in=message_ids)
    files = [name for name in attachments.values_list("file", flat=True) if name]
    counts.attachments, _ = attachments.delete()
    if files:
        transaction.on_commit(lambda: _attachment_files_delete(files))
    counts.recipients, _ = Message.recipients.through.objects.filter(message_id__in=message_ids).delete()
    counts.messages = _deleted(Message.objects.filter(pk__in=message_ids), Message)

    counts.summaries_updated, counts.summaries_deleted = _summaries_recompute(summaries, touched)

    emptied = set(thread_ids) - set(
        Message.objects.filter(thread_id__in=thread_ids).values_list("thread_id", flat=True).distinct()
    )
    kept = set(CitizenCase.objects.filter(thread_id__in=emptied).values_list("thread_id", flat=True)) | set(
        ThreadExport.objects.filter(thread_id__in=emptied).values_list("thread_id", flat=True)
    )
    counts.threads_kept = len(emptied & kept)
    doomed = list(
        Thread.objects.select_for_update()
        .filter(pk__in=emptied - kept)
        .exclude(Exists(Message.objects.filter(thread_id=OuterRef("pk"))))  # a reply that just came in
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if doomed:
        # A summary without deliveries would only be a stale row; it must not keep the thread.
        MailboxThread.objects.filter(thread_id__in=doomed).delete()
        counts.threads_deleted = _deleted(Thread.objects.filter(pk__in=doomed), Thread)

    after = {
        "cutoff": cutoff.isoformat(),
        **({"retention_days": retention_days} if retention_days is not None else {}),
        **counts.as_dict(),
    }
    audit_event_record(
        actor=None,
        action="retention.messages",
        target=Message,
        target_repr=f"received before {cutoff.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
        after=after,
    )
    return counts


def _deleted(queryset, model) -> int:
    """Delete through the ORM, so a PROTECT reference this module does not know about stops the batch
    (ProtectedError) instead of being left dangling; return how many `model` rows went."""
    _total, per_model = queryset.delete()
    return per_model.get(model._meta.label, 0)


def _attachment_files_delete(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        try:
            # FileSystemStorage ignores a missing file; a file that went some other way is worth a look.
            # (Stored names are random, attachment_path: they say nothing about the file.)
            if not storage.exists(name):
                logger.warning("retention found attachment file %s already gone from storage", name)
                continue
            storage.delete(name)
        except Exception:  # the row is gone either way; a file left behind is reported, not fatal
            logger.exception("retention could not remove an attachment file")


# --- retention: uploads never attached to a message (UPLOAD_UNATTACHED_HOURS) ------------------
#
# An upload is stored when chosen (attachments_store) and attached by message_store; one kept for a
# re-shown form (mailboxes.forms.AttachmentsMixin.keep_uploads) that is then given up stays behind
# with `message` NULL. Nothing refers to an Attachment, so such a row goes alone, its file on commit.


@dataclass
class UploadRetentionResult:
    cutoff: dt.datetime
    uploads: int = 0
    batches: int = 0
    dry_run: bool = False


def uploads_delete_abandoned(
    *, cutoff: dt.datetime, batch_size: int = RETENTION_BATCH_SIZE, unattached_hours: int | None = None
) -> UploadRetentionResult:
    """Delete every upload stored before `cutoff` and never attached to a message, in batches of
    `batch_size`, each one transaction with its audit event (`retention.uploads`, counts only; files
    removed once it has committed). An attachment of a message is never touched. Idempotent. Meant
    to be called outside any transaction, like messages_delete_expired."""
    result = UploadRetentionResult(cutoff=cutoff)
    while True:
        deleted = _uploads_delete_batch(
            cutoff=cutoff, batch_size=batch_size, unattached_hours=unattached_hours
        )
        if not deleted:
            break
        result.uploads += deleted
        result.batches += 1
        if deleted < batch_size:
            break
    return result


def uploads_abandoned_count(*, cutoff: dt.datetime) -> UploadRetentionResult:
    """What uploads_delete_abandoned(cutoff=...) would delete, counted without locking or writing."""
    count = Attachment.objects.filter(message__isnull=True, uploaded_at__lt=cutoff).count()
    return UploadRetentionResult(cutoff=cutoff, uploads=count, dry_run=True)


@transaction.atomic
def _uploads_delete_batch(*, cutoff: dt.datetime, batch_size: int, unattached_hours: int | None) -> int:
    # The row lock orders this against message_store attaching the same upload (an UPDATE ... WHERE
    # message_id IS NULL): a row a send holds is skipped, never waited for (it is the message's once
    # that commits, or the next run's if not), so no lock cycle is possible; a row this batch holds
    # is gone when the send gets to it. The FK index on message_id finds the (few) unattached rows.
    rows = list(
        Attachment.objects.select_for_update(skip_locked=True)
        .filter(message__isnull=True, uploaded_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", "file")[:batch_size]
    )
    if not rows:
        return 0
    # `message IS NULL` again in the DELETE itself, and every file goes only with its row: should a
    # locked row ever have been attached anyway, the batch rolls back and the message keeps its file.
    deleted = _deleted(
        Attachment.objects.filter(pk__in=[pk for pk, _name in rows], message__isnull=True), Attachment
    )
    if deleted != len(rows):
        raise RuntimeError(f"upload retention: expected to remove {len(rows)} uploads, removed {deleted}")
    files = [name for _pk, name in rows if name]
    if files:
        transaction.on_commit(lambda: _attachment_files_delete(files))
    audit_event_record(
        actor=None,
        action="retention.uploads",
        target=Attachment,
        target_repr=f"never sent, uploaded before {cutoff.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC",
        after={
            "cutoff": cutoff.isoformat(),
            **({"retention_hours": unattached_hours} if unattached_hours is not None else {}),
            "attachments": deleted,
        },
    )
    return deleted


def _summaries_recompute(
    summaries: Sequence[MailboxThread], touched: dict[tuple[int, int], set[str]]
) -> tuple[int, int]:
    """Set each summary that lost deliveries to what the remaining deliveries make it; delete it when
    none is left. Returns (updated, deleted).

    - message_count, unread_count: counted from the remaining deliveries.
    - last_activity_at, latest_sender_name, latest_snippet: from the newest remaining message when
      the newest one was removed. Only messages older than the cutoff go and every one kept is newer,
      so on a consistent summary this never happens; a summary that was off is set right here.
    - forwarded_for_name / forwarded_by_name: the tag of the last forward of that kind still there
      (as _summaries_add sets it: the newest forward wins), or empty when none is left — only
      recomputed where a forward of that kind was removed.
    - counterpart_name (the other party of the thread), taken_*/handled_* (the thread's state in the
      mailbox): not about single messages, kept.
    """
    from django.contrib.auth import get_user_model

    if not summaries:
        return 0, 0
    mailbox_ids = {row.mailbox_id for row in summaries}
    thread_ids = {row.thread_id for row in summaries}
    remaining = {
        (r["mailbox_id"], r["thread_id"]): r
        for r in Delivery.objects.filter(mailbox_id__in=mailbox_ids, thread_id__in=thread_ids)
        .order_by()
        .values("mailbox_id", "thread_id")
        .annotate(
            count=models.Count("id"),
            unread=models.Count("id", filter=Q(read_at__isnull=True)),
            newest=models.Max("message__created_at"),
        )
    }
    gone = [row for row in summaries if (row.mailbox_id, row.thread_id) not in remaining]
    kept = [row for row in summaries if (row.mailbox_id, row.thread_id) in remaining]
    if gone:
        MailboxThread.objects.filter(pk__in=[row.pk for row in gone]).delete()
    if not kept:
        return 0, len(gone)

    tags = {
        Delivery.Reason.FORWARDED_ABSENCE: ("forwarded_for_id", "forwarded_for_name"),
        Delivery.Reason.FORWARDED_MANUAL: ("forwarded_by_id", "forwarded_by_name"),
    }
    # (mailbox, thread, reason) -> user id of the newest remaining forward of that kind
    newest_tag: dict[tuple[int, int, str], int | None] = {}
    for reason, (user_attr, _field) in tags.items():
        keys = [
            (row.mailbox_id, row.thread_id)
            for row in kept
            if reason in touched[row.mailbox_id, row.thread_id]
        ]
        if not keys:
            continue
        best: dict[tuple[int, int], tuple] = {}
        for mailbox_id, thread_id, created_at, message_at, message_id, user_id in Delivery.objects.filter(
            mailbox_id__in={k[0] for k in keys}, thread_id__in={k[1] for k in keys}, reason=reason
        ).values_list(
            "mailbox_id", "thread_id", "created_at", "message__created_at", "message_id", user_attr
        ):
            order = (created_at, message_at, message_id)
            if (mailbox_id, thread_id) not in best or order > best[mailbox_id, thread_id][0]:
                best[mailbox_id, thread_id] = (order, user_id)
        for key in keys:
            newest_tag[(*key, reason)] = best[key][1] if key in best else None
    stale_latest = [
        row for row in kept if remaining[row.mailbox_id, row.thread_id]["newest"] != row.last_activity_at
    ]
    latest: dict[tuple[int, int], Message] = {}
    for row in stale_latest:
        delivery = (
            Delivery.objects.filter(mailbox_id=row.mailbox_id, thread_id=row.thread_id)
            .select_related("message__sender")
            .order_by("-message__created_at", "-message_id")
            .first()
        )
        latest[row.mailbox_id, row.thread_id] = delivery.message
    user_ids = {uid for uid in newest_tag.values() if uid}
    names = (
        {u.pk: _display_name(u) for u in get_user_model().objects.filter(pk__in=user_ids)} if user_ids else {}
    )

    fields = {"message_count", "unread_count"}
    for row in kept:
        key = (row.mailbox_id, row.thread_id)
        row.message_count = remaining[key]["count"]
        row.unread_count = remaining[key]["unread"]
        if key in latest:
            message = latest[key]
            row.last_activity_at = message.created_at
            row.latest_sender_name = _display_name(message.sender) if message.sender_id else ""
            row.latest_snippet = " ".join(message.body.split())[:SNIPPET_LENGTH]
            fields |= {"last_activity_at", "latest_sender_name", "latest_snippet"}
        for reason, (_attr, field) in tags.items():
            if (*key, reason) in newest_tag:
                setattr(row, field, names.get(newest_tag[(*key, reason)], ""))
                fields.add(field)
    MailboxThread.objects.bulk_update(kept, sorted(fields), batch_size=500)
    return len(kept), len(gone)
