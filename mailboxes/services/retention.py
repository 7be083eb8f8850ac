"""Retention of mailbox data: messages past MESSAGE_RETENTION_DAYS and uploads never sent."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from audit.services import audit_event_record

from ..models import Attachment, Delivery, MailboxThread, Message, Thread
from .summaries import summaries_recompute

logger = logging.getLogger(__name__)

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
#   delivery; it records nothing the delivery does not. absence.UnregisteredAbsenceAlert (one per
#   delivery, "the manager was told its owner may be away") likewise; both count as `escalations`.
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
#   is left. See summaries.summaries_recompute for each field.
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
    from absence.models import AutoReply, GroupUnreadEscalation, UnregisteredAbsenceAlert
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
        escalations=GroupUnreadEscalation.objects.filter(delivery__message__created_at__lt=cutoff).count()
        + UnregisteredAbsenceAlert.objects.filter(delivery__message__created_at__lt=cutoff).count(),
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
    from absence.models import AutoReply, GroupUnreadEscalation, UnregisteredAbsenceAlert
    from eservices.models import NotificationLog

    batch = _batch_lock(cutoff=cutoff, batch_size=batch_size)
    if batch is None:
        return None
    message_ids, delivery_ids = batch.message_ids, batch.delivery_ids
    counts = MessageRetentionCounts()
    counts.escalations, _ = GroupUnreadEscalation.objects.filter(delivery_id__in=delivery_ids).delete()
    alerts, _ = UnregisteredAbsenceAlert.objects.filter(delivery_id__in=delivery_ids).delete()
    counts.escalations += alerts
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
    counts.summaries_updated, counts.summaries_deleted = summaries_recompute(batch.summaries)
    counts.threads_kept, counts.threads_deleted = _threads_emptied_delete(batch.thread_ids)
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


@dataclass
class _Batch:
    message_ids: list[int]
    thread_ids: list[int]
    delivery_ids: list[int]
    # The summaries of the (mailbox, thread) pairs that lose a delivery.
    summaries: list[MailboxThread]


def _batch_lock(*, cutoff: dt.datetime, batch_size: int) -> _Batch | None:
    """Lock the batch's rows. Lock order as everywhere in the mailbox services: message rows, then
    delivery rows, then summary rows, each by id (thread rows last: nothing else locks them)."""
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
    return _Batch(message_ids, thread_ids, [pk for pk, *_ in deliveries], summaries)


def _threads_emptied_delete(thread_ids: list[int]) -> tuple[int, int]:
    """Delete the threads left without messages, except those a case or an export points at.
    Returns (kept, deleted)."""
    from eservices.models import Case as CitizenCase
    from integrations.models import ThreadExport

    emptied = set(thread_ids) - set(
        Message.objects.filter(thread_id__in=thread_ids).values_list("thread_id", flat=True).distinct()
    )
    kept = set(CitizenCase.objects.filter(thread_id__in=emptied).values_list("thread_id", flat=True)) | set(
        ThreadExport.objects.filter(thread_id__in=emptied).values_list("thread_id", flat=True)
    )
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
