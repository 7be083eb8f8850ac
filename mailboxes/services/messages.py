"""Threads and messages: storing a message (immutable from then on), and staff writing in threads.

Delivery to recipients is routing's job, enqueued on commit by the caller's service; only the
sender's own read copy is placed here, so the thread shows in their mailbox as sent at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext

from django.db import connection, transaction
from django.utils import timezone

from lifemsg import perf
from lifemsg.perf.compiled import CompiledQuery
from lifemsg.perf.inserts import insert_params, mark_inserted

from ..attachments import attachments_check_attachable
from ..models import Attachment, Delivery, Mailbox, Message, Thread
from . import _sql
from .deliveries import DeliveryPlan, deliveries_create
from .units import mailbox_personal_for


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
    if not perf.fast_sql():
        with transaction.atomic(savepoint=False):
            message.save(force_insert=True)
            Thread.objects.filter(pk=message.thread_id, last_message_at__lt=message.created_at).update(
                last_message_at=message.created_at
            )
        return
    thread_type = Thread._meta.pk.rel_db_type(connection)
    _message_insert_guarded(message, guard=(f"SELECT %s::{thread_type} AS thread_id", [message.thread_id]))


def message_store_if(*, thread_of: CompiledQuery, sender, body: str, **values) -> Message | None:
    """A plain message (no recipients, attachments or sender mailbox: a citizen's send) into the
    thread that `thread_of` selects with `values`, stored only if it finds that row, in the same
    statement (so nothing can change in between). `thread_of` is a compiled query (lifemsg.perf.compiled)
    selecting at most one row with a `thread_id` column: a permission check that names the thread
    (eservices.permissions.CITIZEN_OPEN_CASE_THREAD). Returns the message, or None when it found
    nothing and nothing was stored. PostgreSQL only."""
    guard = thread_of.as_sql(**values)
    if guard is None:
        return None
    message = Message(sender=sender, body=body, created_at=timezone.now())
    return message if _message_insert_guarded(message, guard=guard) else None


def _message_insert_guarded(message: Message, *, guard: tuple[str, list]) -> bool:
    """INSERT `message` into the thread `guard` selects, with the thread's last_message_at moved on
    (both as WITH queries); False if the guard selected nothing and nothing was written."""
    sql, guard_params = guard
    at = Thread._meta.get_field("last_message_at").get_db_prep_save(message.created_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _sql.message_insert_sql(sql),
            [*guard_params, at, at, *insert_params([message], skip=_sql.MESSAGE_FROM_GUARD)],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    message.thread_id = row[1]
    mark_inserted([message], [row[0]])
    return True


# --- staff writing in threads (routing is enqueued by mailboxes.sending, not here) -----------


@transaction.atomic
def internal_thread_start(
    *, sender, recipients: Sequence[Mailbox], subject: str, body: str, attachments: Iterable[Attachment] = ()
) -> Message:
    """A new internal thread: stored with the sender's read copy in their personal mailbox. The caller
    enqueues routing (absence.tasks.message_route_on_commit), which delivers to `recipients`."""
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
