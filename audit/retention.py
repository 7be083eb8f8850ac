"""Retention: remove what is past its period, and nothing else; record what was done.

What goes is decided by the retention rules and an approved retention run (the retention_rules app), which
calls the functions here and in audit.message_retention; nothing here runs on its own except the
nightly chain check and the removal of uploads never sent.

Access log (the rule's period, never below the period the database holds, ACCESS_LOG_RETENTION_DAYS
as grant_app_role wrote it): only a *prefix* of the hash chain is ever removed (every entry before
the first one still inside the period), after verifying that prefix, and an AccessLogPruning
anchor keeps the hash of the last removed entry so the remainder still verifies from there. The
database lets these DELETEs through only for entries past its own retention period, and on PostgreSQL
only through its function audit_access_log_prune (migration 0005).

Messages: audit.message_retention, which removes them with everything that refers to them, batch by
batch, and records each batch (audit/README.md).

Uploads never sent (UPLOAD_UNATTACHED_HOURS): mailboxes.services.retention.uploads_delete_abandoned,
the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from mailboxes.services.retention import (
    UploadRetentionResult,
    uploads_abandoned_count,
    uploads_delete_abandoned,
)

from .chain import sign_anchor
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


def retention_floor_days() -> int | None:
    """The retention period the database itself enforces (audit_retention_floor, migration 0005)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_log_days FROM audit_retention_floor WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def access_log_retention_days(days: int | None = None) -> int:
    """`days` (the retention rule's period; ACCESS_LOG_RETENTION_DAYS when not given), or the
    database's period when that is longer: the database refuses to remove anything younger than its
    own period, whatever the rule or the settings say."""
    days = settings.ACCESS_LOG_RETENTION_DAYS if days is None else days
    return max(days, retention_floor_days() or 0)


def _access_log_prefix(*, cutoff: datetime, head_seq: int, limit: int | None = None) -> tuple[int, int]:
    """(seq of the anchor, seq of the last entry to remove): the prefix is anchor+1 .. through, and
    through is never past `limit` (the last entry a retention run's approved list names)."""
    anchor_seq, _anchor_hash = chain_anchor()
    first_kept = (
        AccessLogEntry.objects.filter(at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
    )
    # Everything before the first entry inside the period is older than the cutoff by construction,
    # even if the clock ever stepped back: nothing inside the period is removed.
    through = first_kept - 1 if first_kept is not None else head_seq
    if limit is not None:
        through = min(through, limit)
    return anchor_seq, through


def _remove_prefix(*, first_seq: int, through_seq: int, through_hash: str, through_at, cutoff) -> int:
    """Write the signed anchor and remove the entries it covers. On PostgreSQL through the database's
    own function (the application role has no DELETE on the log nor INSERT on the anchors: it may
    only ask); the database's triggers check that every entry is past the period either way."""
    mac = sign_anchor(
        first_seq=first_seq, through_seq=through_seq, through_hash=through_hash, through_at=through_at
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT audit_access_log_prune(%s, %s, %s, %s, %s, %s)",
                [first_seq, through_seq, through_hash, through_at, cutoff, mac],
            )
            return cursor.fetchone()[0]
    AccessLogPruning.objects.create(
        cutoff=cutoff,
        first_seq=first_seq,
        through_seq=through_seq,
        through_hash=through_hash,
        through_at=through_at,
        deleted_count=through_seq - first_seq + 1,
        mac=mac,
    )
    deleted, _ = models.QuerySet.delete(AccessLogEntry.objects.filter(seq__range=(first_seq, through_seq)))
    return deleted


def access_log_prune_preview(*, now: datetime | None = None, days: int | None = None) -> AccessLogPruneResult:
    """What access_log_prune would remove now, without verifying, locking or removing anything."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=access_log_retention_days(days))
    head_seq = AccessLogHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    anchor_seq, through = _access_log_prefix(cutoff=cutoff, head_seq=head_seq)
    if through <= anchor_seq:
        return AccessLogPruneResult(cutoff=cutoff)
    return AccessLogPruneResult(
        cutoff=cutoff, deleted=through - anchor_seq, first_seq=anchor_seq + 1, through_seq=through
    )


@transaction.atomic
def access_log_prune(
    *, now: datetime | None = None, days: int | None = None, through_seq: int | None = None
) -> AccessLogPruneResult:
    """Remove the entries older than `days` (the retention rule's period; ACCESS_LOG_RETENTION_DAYS
    when not given) that form a prefix of the chain, and none after `through_seq` when given."""
    now = now or timezone.now()
    days = access_log_retention_days(days)
    cutoff = now - timedelta(days=days)
    # Holding the head lock keeps appends out while the prefix is chosen and removed.
    head, _ = AccessLogHead.objects.select_for_update().get_or_create(id=1)
    anchor_seq, through = _access_log_prefix(cutoff=cutoff, head_seq=head.seq, limit=through_seq)
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
    last_hash, last_at = AccessLogEntry.objects.filter(seq=through).values_list("entry_hash", "at").get()
    expected = through - anchor_seq
    deleted = _remove_prefix(
        first_seq=anchor_seq + 1,
        through_seq=through,
        through_hash=last_hash,
        through_at=last_at,
        cutoff=cutoff,
    )
    if deleted != expected:
        raise RetentionError(f"expected to remove {expected} access-log entries, removed {deleted}")
    pruning = AccessLogPruning.objects.get(through_seq=through)
    audit_event_record(
        actor=None,
        action="retention.access_log",
        target=pruning,
        after={
            "cutoff": cutoff.isoformat(),
            "retention_days": days,
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
