"""Retention of mailbox data: messages past MESSAGE_RETENTION_DAYS and uploads never sent."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from audit.services import audit_event_record

from ..models import Attachment, Delivery, MailboxThread, Message, Thread
from .summaries import summaries_recompute

logger = logging.getLogger(__name__)

# --- retention: messages past MESSAGE_RETENTION_DAYS -----------------------------------------------
#
# The mailbox core's part of a batch: its own rows. What other apps hold about a message (and which
# threads they keep) is theirs; audit.message_retention, above every app, runs a batch as a whole
# and says there what happens to each row that refers to a message.

RETENTION_BATCH_SIZE = 500


@dataclass
class MessageBatch:
    message_ids: list[int]
    thread_ids: list[int]
    delivery_ids: list[int]
    # The summaries of the (mailbox, thread) pairs that lose a delivery.
    summaries: list[MailboxThread]


def message_batch_lock(
    *, cutoff: dt.datetime, batch_size: int, message_ids: list[int] | None = None
) -> MessageBatch | None:
    """Lock up to `batch_size` messages received before `cutoff` (only those of `message_ids` when
    given: a retention run's approved list), None when there are none, with their deliveries and
    the summaries those are in. Lock order as everywhere in the mailbox services: message rows, then
    delivery rows, then summary rows, each by id (thread rows last: nothing else locks them). In the
    caller's transaction."""
    expired = Message.objects.filter(created_at__lt=cutoff)
    if message_ids is not None:
        expired = expired.filter(pk__in=message_ids)
    locked = list(expired.select_for_update().order_by("pk").values_list("pk", "thread_id")[:batch_size])
    if not locked:
        return None
    message_ids = [pk for pk, _thread_id in locked]
    thread_ids = sorted({thread_id for _pk, thread_id in locked})
    deliveries = list(
        Delivery.objects.select_for_update()
        .filter(message_id__in=message_ids)
        .order_by("pk")
        .values_list("pk", "mailbox_id", "thread_id")
    )
    touched = {(mailbox_id, thread_id) for _pk, mailbox_id, thread_id in deliveries}
    summaries = [
        row
        for row in MailboxThread.objects.select_for_update().filter(thread_id__in=thread_ids).order_by("id")
        if (row.mailbox_id, row.thread_id) in touched
    ]
    return MessageBatch(message_ids, thread_ids, [pk for pk, *_ in deliveries], summaries)


def message_batch_delete(
    *, batch: MessageBatch, threads_kept: Callable[[set[int]], set[int]]
) -> dict[str, int]:
    """Delete the batch's messages with their deliveries (forward links among them first),
    attachments (files once the transaction has committed), recipients; recompute the summaries that
    lost deliveries (summaries.summaries_recompute) and delete the threads left without messages,
    except those `threads_kept(thread ids)` names. Rows of other apps that refer to these messages or
    deliveries must be gone already. Returns the counts per kind of row."""
    message_ids, delivery_ids = batch.message_ids, batch.delivery_ids
    counts: dict[str, int] = {}
    Delivery.objects.filter(forwarded_from_id__in=delivery_ids).update(forwarded_from=None)
    counts["deliveries"] = _deleted(Delivery.objects.filter(pk__in=delivery_ids), Delivery)
    attachments = Attachment.objects.filter(message_id__in=message_ids)
    files = [name for name in attachments.values_list("file", flat=True) if name]
    counts["attachments"], _ = attachments.delete()
    if files:
        transaction.on_commit(lambda: _attachment_files_delete(files))
    counts["recipients"], _ = Message.recipients.through.objects.filter(message_id__in=message_ids).delete()
    counts["messages"] = _deleted(Message.objects.filter(pk__in=message_ids), Message)
    counts["summaries_updated"], counts["summaries_deleted"] = summaries_recompute(batch.summaries)
    counts["threads_kept"], counts["threads_deleted"] = _threads_emptied_delete(
        batch.thread_ids, threads_kept
    )
    return counts


def _threads_emptied_delete(thread_ids: list[int], threads_kept) -> tuple[int, int]:
    emptied = set(thread_ids) - set(
        Message.objects.filter(thread_id__in=thread_ids).values_list("thread_id", flat=True).distinct()
    )
    kept = threads_kept(emptied) if emptied else set()
    doomed = list(
        Thread.objects.select_for_update()
        .filter(pk__in=emptied - kept)
        .exclude(Exists(Message.objects.filter(thread_id=OuterRef("pk"))))  # a reply that just came in
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    deleted = 0
    if doomed:
        # A summary without deliveries would only be a stale row; it must not keep the thread.
        MailboxThread.objects.filter(thread_id__in=doomed).delete()
        deleted = _deleted(Thread.objects.filter(pk__in=doomed), Thread)
    return len(emptied & kept), deleted


def messages_expired_counts(*, cutoff: dt.datetime, thread_kept: Q) -> dict[str, int]:
    """What message_batch_delete would delete of the mailbox core's rows for every message received
    before `cutoff`, counted without locking or writing (`thread_kept`: a condition on a thread that
    keeps it; the summaries that would be recomputed are not counted)."""
    expired = Message.objects.filter(created_at__lt=cutoff)
    # Threads whose every message is past the period.
    emptied = Thread.objects.filter(Exists(expired.filter(thread_id=OuterRef("pk")))).exclude(
        Exists(Message.objects.filter(thread_id=OuterRef("pk"), created_at__gte=cutoff))
    )
    return {
        "messages": expired.count(),
        "deliveries": Delivery.objects.filter(message__created_at__lt=cutoff).count(),
        "attachments": Attachment.objects.filter(message__created_at__lt=cutoff).count(),
        "recipients": Message.recipients.through.objects.filter(message__created_at__lt=cutoff).count(),
        "threads_deleted": emptied.exclude(thread_kept).count(),
        "threads_kept": emptied.filter(thread_kept).count(),
    }


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


def attachments_delete_listed(*, attachment_ids: list[int]) -> int:
    """Delete these attachments of messages that stay (a rule for attachments shorter than the
    messages'), their files once the transaction has committed; returns how many rows went. Nothing
    refers to an Attachment. In the caller's transaction."""
    rows = list(
        Attachment.objects.select_for_update()
        .filter(pk__in=attachment_ids)
        .order_by("pk")
        .values_list("pk", "file")
    )
    if not rows:
        return 0
    deleted = _deleted(Attachment.objects.filter(pk__in=[pk for pk, _name in rows]), Attachment)
    files = [name for _pk, name in rows if name]
    if files:
        transaction.on_commit(lambda: _attachment_files_delete(files))
    return deleted


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
