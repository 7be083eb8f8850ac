"""Retention: remove what is past its period, and nothing else; record what was done.

Access log (ACCESS_LOG_RETENTION_DAYS): only a *prefix* of the hash chain is ever removed (every entry
before the first one still inside the period), after verifying that prefix, and an AccessLogPruning
anchor keeps the hash of the last removed entry so the remainder still verifies from there. The
database lets these DELETEs through only inside this transaction (see migration 0003).

Messages (MESSAGE_RETENTION_DAYS): mailboxes.services.messages_delete_expired, which removes them with
everything that refers to them, batch by batch, and records each batch (audit/README.md).

Uploads never sent (UPLOAD_UNATTACHED_HOURS): mailboxes.services.uploads_delete_abandoned, the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from mailboxes.services.retention import (
    MessageRetentionResult,
    UploadRetentionResult,
    messages_delete_expired,
    messages_expired_count,
    uploads_abandoned_count,
    uploads_delete_abandoned,
)

from .models import AccessLogEntry, AccessLogHead, AccessLogPruning
from .services import access_log_verify, audit_event_record, chain_anchor

logger = logging.getLogger(__name__)


class RetentionError(RuntimeError):
    pass


@dataclass(frozen=True)
class AccessLogPruneResult:
    cutoff: datetime
    deleted: int = 0
    first_seq: int | None = None
    through_seq: int | None = None
    refused: str = ""


@contextmanager
def _retention_gate() -> Iterator[None]:
    """Open the database's gate for retention deletes, for this transaction only."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('lifemsg.access_log_retention', 'on', true)")
        else:
            cursor.execute("INSERT INTO audit_retention_gate (id) VALUES (1)")
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('lifemsg.access_log_retention', 'off', true)")
            else:
                cursor.execute("DELETE FROM audit_retention_gate")


def _access_log_prefix(*, cutoff: datetime, head_seq: int) -> tuple[int, int]:
    """(seq of the anchor, seq of the last entry to remove): the prefix is anchor+1 .. through."""
    anchor_seq, _anchor_hash = chain_anchor()
    first_kept = (
        AccessLogEntry.objects.filter(at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
    )
    # Everything before the first entry inside the period is older than the cutoff by construction,
    # even if the clock ever stepped back: nothing inside the period is removed.
    through = first_kept - 1 if first_kept is not None else head_seq
    return anchor_seq, through


def access_log_prune_preview(*, now: datetime | None = None) -> AccessLogPruneResult:
    """What access_log_prune would remove now, without verifying, locking or removing anything."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    head_seq = AccessLogHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    anchor_seq, through = _access_log_prefix(cutoff=cutoff, head_seq=head_seq)
    if through <= anchor_seq:
        return AccessLogPruneResult(cutoff=cutoff)
    return AccessLogPruneResult(
        cutoff=cutoff, deleted=through - anchor_seq, first_seq=anchor_seq + 1, through_seq=through
    )


@transaction.atomic
def access_log_prune(*, now: datetime | None = None) -> AccessLogPruneResult:
    """Remove the entries older than ACCESS_LOG_RETENTION_DAYS that form a prefix of the chain."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    # Holding the head lock keeps appends out while the prefix is chosen and removed.
    head, _ = AccessLogHead.objects.select_for_update().get_or_create(id=1)
    anchor_seq, through = _access_log_prefix(cutoff=cutoff, head_seq=head.seq)
    if through <= anchor_seq:
        return AccessLogPruneResult(cutoff=cutoff)
    check = access_log_verify(through_seq=through)
    if not check.ok or check.last_seq != through:
        reason = check.problem or f"the chain does not reach #{through}"
        bad = check.first_bad_seq or (check.last_seq or anchor_seq) + 1
        logger.error("Access-log retention refused: entry #%s: %s", bad, reason)
        # The record of the refusal must survive the rollback of nothing: no rows were touched.
        audit_event_record(
            actor=None,
            action="retention.access_log_refused",
            target=head,
            after={"cutoff": cutoff.isoformat(), "first_bad_seq": bad, "problem": reason},
            reason="The chain to be removed does not verify; nothing was removed so it can be examined.",
        )
        return AccessLogPruneResult(cutoff=cutoff, refused=f"#{bad}: {reason}")
    last_hash = AccessLogEntry.objects.filter(seq=through).values_list("entry_hash", flat=True).get()
    expected = through - anchor_seq
    pruning = AccessLogPruning.objects.create(
        cutoff=cutoff,
        first_seq=anchor_seq + 1,
        through_seq=through,
        through_hash=last_hash,
        deleted_count=expected,
    )
    with _retention_gate():
        deleted, _ = models.QuerySet.delete(AccessLogEntry.objects.filter(seq__lte=through))
    if deleted != expected:
        raise RetentionError(f"expected to remove {expected} access-log entries, removed {deleted}")
    audit_event_record(
        actor=None,
        action="retention.access_log",
        target=pruning,
        after={
            "cutoff": cutoff.isoformat(),
            "retention_days": settings.ACCESS_LOG_RETENTION_DAYS,
            "deleted": deleted,
            "first_seq": pruning.first_seq,
            "through_seq": through,
            "through_hash": last_hash,
        },
    )
    return AccessLogPruneResult(
        cutoff=cutoff, deleted=deleted, first_seq=pruning.first_seq, through_seq=through
    )


def access_log_check_chain():
    """Verify the whole remaining chain (run nightly after retention). A break is logged as an error
    and recorded as an audit event, so tampering is noticed even if nobody runs verify_access_log."""
    result = access_log_verify()
    if not result.ok:
        logger.error("Access-log chain broken at entry #%s: %s", result.first_bad_seq, result.problem)
        head, _ = AccessLogHead.objects.get_or_create(id=1)
        audit_event_record(
            actor=None,
            action="retention.access_log_chain_broken",
            target=head,
            after={"first_bad_seq": result.first_bad_seq, "problem": result.problem},
        )
    return result


def messages_prune(*, now: datetime | None = None, dry_run: bool = False) -> MessageRetentionResult:
    """Remove the messages received more than MESSAGE_RETENTION_DAYS ago (or, with `dry_run`, count
    what would go). Each batch commits with its own `retention.messages` audit event."""
    now = now or timezone.now()
    days = settings.MESSAGE_RETENTION_DAYS
    cutoff = now - timedelta(days=days)
    if dry_run:
        return messages_expired_count(cutoff=cutoff)
    result = messages_delete_expired(cutoff=cutoff, retention_days=days)
    if result.counts.messages:
        logger.info(
            "Message retention: removed %s messages received before %s (%s)",
            result.counts.messages,
            cutoff.isoformat(),
            result.counts.as_dict(),
        )
    return result


def uploads_prune(*, now: datetime | None = None, dry_run: bool = False) -> UploadRetentionResult:
    """Remove the uploads stored more than UPLOAD_UNATTACHED_HOURS ago and never attached to a message
    (or, with `dry_run`, count them). Each batch commits with its own `retention.uploads` audit event."""
    now = now or timezone.now()
    hours = settings.UPLOAD_UNATTACHED_HOURS
    cutoff = now - timedelta(hours=hours)
    if dry_run:
        return uploads_abandoned_count(cutoff=cutoff)
    result = uploads_delete_abandoned(cutoff=cutoff, unattached_hours=hours)
    if result.uploads:
        logger.info(
            "Upload retention: removed %s uploads never sent, stored before %s",
            result.uploads,
            cutoff.isoformat(),
        )
    return result
