"""Retention of messages past MESSAGE_RETENTION_DAYS, run nightly by audit.retention: the
orchestration, above every app, of what each app holds about a message.

A message goes together with everything that exists only because of it. Every row in any app with a
foreign key to Message, Delivery or Thread is listed here with what happens to it
(tests/mailboxes/test_retention.py fails when a new one appears that this does not know about):

- Delivery (the message's copies in mailboxes): deleted. Delivery.forwarded_from links among them
  are cleared first (PROTECT); a forwarded copy is always of the same message, so a chain goes as
  a whole.
- absence.GroupUnreadEscalation (one per delivery, "the unit manager was told"): deleted with its
  delivery; it records nothing the delivery does not. absence.UnregisteredAbsenceAlert (one per
  delivery, "the manager was told its owner may be away") likewise; both count as `escalations`.
- Attachment: rows deleted, files removed from storage once the transaction has committed (a
  rolled-back batch keeps its files).
- Message.recipients (the addressed mailboxes): deleted.
- eservices.NotificationLog ("the citizen was notified of this message"): deleted; it holds no
  content and only serves to not notify twice about a message that is gone.
- absence.AutoReply (the out-of-office reply record: its `message` and the citizen message it
  answered, `in_reply_to`): deleted when either message goes. It only stops a second reply in the
  same thread during the same absence; once the reply is gone from the thread, the citizen is no
  longer shown it, so another one may be sent. (The reply comes seconds after the message it
  answers, so both normally go in the same run.)
- MailboxThread (per-mailbox summary): recomputed from the remaining deliveries, deleted when none
  is left. See summaries.summaries_recompute for each field.
- Thread: deleted when it has no message left, unless eservices.Case points at it (PROTECT; cases
  follow the case system's retention), or integrations.ThreadExport or CaseFileEntry does (the
  records of what was journalled to the case file; they always have a case too). A kept thread
  has no summary, so it leaves every inbox; its case still shows it.

Not touched, because nothing there is a foreign key: the access log (object, thread, mailbox and
case ids are plain integers; it has its own retention), AuditEvent (target ids are text),
ThreadExport.message_ids (a JSON list: what was exported, kept as the journal's record) and
integrations.WebhookDelivery (payloads carry ids, never content; they are the outbox to the case
system).

The mailbox core deletes its own rows (mailboxes.services.retention: message_batch_lock,
message_batch_delete); the rows of absence and eservices that refer to a message or a delivery go
here first, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from absence.models import AutoReply, GroupUnreadEscalation, UnregisteredAbsenceAlert
from eservices.models import Case, NotificationLog
from integrations.models import CaseFileEntry, ThreadExport
from mailboxes.models import Message
from mailboxes.services.retention import (
    RETENTION_BATCH_SIZE,
    MessageBatch,
    message_batch_delete,
    message_batch_lock,
    messages_expired_counts,
)

from .services import audit_event_record


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


# What keeps a thread, even without messages: a case (PROTECT), an export or a case-file entry
# (journalföring, PROTECT) points at it. The last two always have a case too.
_THREAD_KEEPERS = (Case, ThreadExport, CaseFileEntry)


def _thread_kept() -> Q:
    condition = Q()
    for model in _THREAD_KEEPERS:
        condition |= Q(Exists(model.objects.filter(thread_id=OuterRef("pk"))))
    return condition


def _threads_kept(thread_ids: set[int]) -> set[int]:
    kept: set[int] = set()
    for model in _THREAD_KEEPERS:
        kept |= set(model.objects.filter(thread_id__in=thread_ids).values_list("thread_id", flat=True))
    return kept


def messages_expired_count(*, cutoff: dt.datetime) -> MessageRetentionResult:
    """What messages_delete_expired(cutoff=...) would delete, counted without locking or writing (the
    summaries it would recompute are not counted)."""
    counts = MessageRetentionCounts(
        **messages_expired_counts(cutoff=cutoff, thread_kept=_thread_kept()),
        notifications=NotificationLog.objects.filter(message__created_at__lt=cutoff).count(),
        auto_replies=AutoReply.objects.filter(
            Q(message__created_at__lt=cutoff) | Q(in_reply_to__created_at__lt=cutoff)
        ).count(),
        escalations=GroupUnreadEscalation.objects.filter(delivery__message__created_at__lt=cutoff).count()
        + UnregisteredAbsenceAlert.objects.filter(delivery__message__created_at__lt=cutoff).count(),
    )
    return MessageRetentionResult(cutoff=cutoff, counts=counts, dry_run=True)


def messages_delete_listed(
    *, message_ids: list[int], cutoff: dt.datetime, run_id: int
) -> MessageRetentionCounts:
    """Delete these messages (a batch of a retention run's approved list; each was received before
    `cutoff`, checked again here) with what refers to them, as messages_delete_expired does, in the
    caller's transaction, with the batch's `retention.messages` event naming the run."""
    counts = _messages_delete_batch(
        cutoff=cutoff,
        batch_size=len(message_ids),
        retention_days=None,
        message_ids=message_ids,
        run_id=run_id,
    )
    return counts or MessageRetentionCounts()


@transaction.atomic
def _messages_delete_batch(
    *,
    cutoff: dt.datetime,
    batch_size: int,
    retention_days: int | None,
    message_ids: list[int] | None = None,
    run_id: int | None = None,
) -> MessageRetentionCounts | None:
    batch = message_batch_lock(cutoff=cutoff, batch_size=batch_size, message_ids=message_ids)
    if batch is None:
        return None
    counts = MessageRetentionCounts(**_dependents_delete(batch))
    for name, value in message_batch_delete(batch=batch, threads_kept=_threads_kept).items():
        setattr(counts, name, value)
    after = {
        "cutoff": cutoff.isoformat(),
        **({"retention_days": retention_days} if retention_days is not None else {}),
        **({"run": run_id} if run_id is not None else {}),
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


def _dependents_delete(batch: MessageBatch) -> dict[str, int]:
    """The rows of absence and eservices that refer to the batch's messages or deliveries."""
    escalations, _ = GroupUnreadEscalation.objects.filter(delivery_id__in=batch.delivery_ids).delete()
    alerts, _ = UnregisteredAbsenceAlert.objects.filter(delivery_id__in=batch.delivery_ids).delete()
    auto_replies, _ = AutoReply.objects.filter(
        Q(message_id__in=batch.message_ids) | Q(in_reply_to_id__in=batch.message_ids)
    ).delete()
    notifications, _ = NotificationLog.objects.filter(message_id__in=batch.message_ids).delete()
    return {"escalations": escalations + alerts, "auto_replies": auto_replies, "notifications": notifications}
