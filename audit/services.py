"""Every write to the audit tables: audit events, the hash-chained access log, log reviews.

Access-log invariants (each one tested in tests/audit/):
- one chain: entry n has seq n and prev_hash = entry (n-1)'s entry_hash, an HMAC with a key the
  database never sees (audit.chain); appends are serialised by a row lock on AccessLogHead, which
  always holds the last seq and hash;
- append-only: the ORM (AccessLogQuerySet) and the database (triggers, migrations 0003 and 0005)
  refuse UPDATE and DELETE; retention (audit.retention) may remove a prefix of entries past the
  period only, leaving a signed AccessLogPruning anchor from which the rest still verifies;
- a read is never unlogged: callers call access_log_record *before* rendering, and it raises
  AccessLogError when the entry cannot be written.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from functools import cache
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import ALL_ROLES, known_group_names, remember_group_names
from lifemsg import perf
from lifemsg.perf.compiled import CompiledQuery
from lifemsg.perf.inserts import insert_rows

from . import context as providers
from .chain import sign_entry
from .models import AccessLogEntry, AccessLogHead, AuditEvent, LogReview
from .verification import ChainVerification, access_log_verify, chain_anchor

__all__ = ["AccessLogError", "ChainVerification", "access_log_verify", "chain_anchor"]

logger = logging.getLogger(__name__)

REVIEW_PERM = "accounts.review_access_log"


class AccessLogError(RuntimeError):
    """The access-log entry could not be written: the read it stands for must not happen."""


def audit_event_record(
    *,
    actor,
    action: str,
    target,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    target_repr: str = "",
) -> AuditEvent:
    """`target` is the row the change concerns, or a model class when it concerns many rows of it
    (retention): then `target_repr` says which, and the event has no target id."""
    is_row = not isinstance(target, type)
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk) if is_row else "",
        target_repr=(target_repr or (str(target) if is_row else ""))[:255],
        before=before,
        after=after,
        reason=reason,
    )


# --- the access log: append and verify ---------------------------------------------------------


def _user_snapshot(user) -> tuple[str, str]:
    """The user's units and roles at the time of the read, as the log must keep them even after they
    change (elsewhere than on PostgreSQL; there _snapshot_and_lock_head reads them in its locking
    query). The group names it reads are kept on the user object for the rest of the request
    (accounts.roles.user_group_names: the page header shows the roles too)."""
    group_names = list(Group.objects.filter(user__id=user.pk).values_list("name", flat=True))
    remember_group_names(user, group_names)
    units = ", ".join(sorted(providers.unit_names(user.pk)))
    roles = ", ".join(sorted(name for name in group_names if name in ALL_ROLES))
    return units, roles


def _thread_contexts(thread_ids) -> dict[int, dict[str, int | None]]:
    """Citizen, case and the case's unit of each thread (one query), so that every entry names the
    citizen the read concerns even when a caller only knows the thread."""
    return providers.thread_contexts(thread_ids)


ENTRY_FIELDS = (
    "action",
    "route",
    "object_type",
    "object_id",
    "thread_id",
    "mailbox_id",
    "case_id",
    "unit_id",
    "citizen_id",
    "detail",
)


def access_log_record(
    *,
    user,
    action: str,
    route: str,
    object_type: str,
    object_id: int | None = None,
    thread_id: int | None = None,
    mailbox_id: int | None = None,
    case_id: int | None = None,
    unit_id: int | None = None,
    citizen_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Append one entry to the chain. Raises AccessLogError if it cannot be written: callers call this
    *before* rendering the data, so a read never happens unlogged.

    `citizen_id`, `case_id` and `unit_id` are filled in from the thread when the caller leaves them
    out. `unit_id` is the unit whose data was read (the case's unit, or the group mailbox's unit)."""
    entry = {
        "action": action,
        "route": route,
        "object_type": object_type,
        "object_id": object_id,
        "thread_id": thread_id,
        "mailbox_id": mailbox_id,
        "case_id": case_id,
        "unit_id": unit_id,
        "citizen_id": citizen_id,
        "detail": detail,
    }
    return access_log_record_many(user=user, entries=[entry])[0]


def access_log_record_many(*, user, entries: Sequence[dict[str, Any]]) -> list[AccessLogEntry]:
    """Append several entries of one user's read at once (a search result naming several citizens):
    one head lock, one insert, one head update, whatever their number. Each entry is a dict with the
    keyword arguments of `access_log_record` (action, route and object_type required). All are
    written or none, and AccessLogError is raised as for one."""
    for fields in entries:
        unknown = set(fields) - set(ENTRY_FIELDS)
        if unknown:
            raise TypeError(f"Unknown access-log fields {sorted(unknown)}")
        if fields.get("action") not in AccessLogEntry.Action.values:
            raise ValueError(f"Unknown access-log action {fields.get('action')!r}")
        if fields.get("route") not in AccessLogEntry.Route.values:
            raise ValueError(f"Unknown access-log route {fields.get('route')!r}")
        if not fields.get("object_type"):
            raise ValueError("An access-log entry needs an object_type.")
    if not getattr(user, "pk", None):
        raise AccessLogError("An access-log entry needs the user who read.")
    if not entries:
        return []
    try:
        return _append(user=user, entries=entries)
    except DatabaseError as exc:
        logger.exception("Access-log entry could not be written; refusing the read")
        raise AccessLogError("The access log could not be written.") from exc


def _append(*, user, entries: Sequence[dict[str, Any]]) -> list[AccessLogEntry]:
    # A savepoint inside a caller's transaction (so a refused read leaves it usable for an error
    # page); outside one this is just BEGIN ... COMMIT.
    with transaction.atomic():
        unknown_context = {
            fields["thread_id"]
            for fields in entries
            if fields.get("thread_id") is not None
            and None in (fields.get("citizen_id"), fields.get("case_id"), fields.get("unit_id"))
        }
        contexts = _thread_contexts(unknown_context) if unknown_context else {}
        units, roles, head = _snapshot_and_lock_head(user)
        # Taken under the head lock, so `at` never decreases along the chain (retention relies on it).
        at = timezone.now()
        seq, prev_hash = head.seq, head.last_hash
        rows = []
        for fields in entries:
            values = {key: fields.get(key) for key in ENTRY_FIELDS}
            values["detail"] = values["detail"] or {}
            context = contexts.get(values["thread_id"], {})
            for key in ("citizen_id", "case_id", "unit_id"):
                if values[key] is None:
                    values[key] = context.get(key)
            seq += 1
            entry = AccessLogEntry(
                seq=seq,
                at=at,
                user=user,
                user_units=units[:500],
                user_roles=roles[:500],
                prev_hash=prev_hash,
                **values,
            )
            sign_entry(entry)
            prev_hash = entry.entry_hash
            rows.append(entry)
        _insert_entries(rows)
        # The head advances after the entries exist: the database trigger (migrations 0003, 0004)
        # checks that every entry up to the new head is there and that the hash is the last one's.
        head.seq = seq
        head.last_hash = prev_hash
        _advance_head(head)
    return rows


# Every read of a citizen thread appends to the log, so its two writes are plain SQL made once from
# the models (Django's save() and update() build and compile them anew each time: most of an
# append's Python time). The entries go in with one INSERT ... RETURNING id, however many.
def _advance_head(head: AccessLogHead) -> None:
    if not perf.enabled():
        AccessLogHead.objects.filter(pk=head.pk).update(seq=head.seq, last_hash=head.last_hash)
        return
    with connection.cursor() as cursor:
        cursor.execute(_advance_head_sql(), (head.seq, head.last_hash, head.pk))


@cache
def _advance_head_sql() -> str:
    qn = connection.ops.quote_name
    meta = AccessLogHead._meta
    # Identifiers from the model, values as parameters.
    return (
        f"UPDATE {qn(meta.db_table)} SET {qn(meta.get_field('seq').column)} = %s, "  # noqa: S608
        f"{qn(meta.get_field('last_hash').column)} = %s WHERE {qn(meta.pk.column)} = %s"
    )


def _insert_entries(rows: list[AccessLogEntry]) -> None:
    insert_rows(rows)


def _locked_head(*, user_id: int, with_groups: bool):
    from django.contrib.postgres.expressions import ArraySubquery  # PostgreSQL only

    snapshot = {"snapshot_units": ArraySubquery(providers.unit_names(user_id))}
    if with_groups:
        snapshot["snapshot_groups"] = ArraySubquery(
            Group.objects.filter(user__id=user_id).order_by().values("name")
        )
    return AccessLogHead.objects.select_for_update(of=("self",)).annotate(**snapshot).filter(id=1)


# Compiled once (lifemsg.perf.compiled): every citizen thread page appends an entry.
_LOCKED_HEAD = CompiledQuery(_locked_head)


def _snapshot_and_lock_head(user) -> tuple[str, str, AccessLogHead]:
    """Lock the chain's head row (held until the transaction ends: appends are serialised) and take
    the user's snapshot. On PostgreSQL that is one query: the snapshot rides along as array
    subqueries of the locking SELECT. The user's group names, when this request has read them already
    (the permission check of every staff page does: accounts.backends), are taken from there."""
    if not perf.fast_sql():
        units, roles = _user_snapshot(user)
        head, _ = AccessLogHead.objects.select_for_update().get_or_create(id=1)
        return units, roles, head
    known_groups = known_group_names(user)
    shape = {"with_groups": known_groups is None}
    head = _LOCKED_HEAD.first(shape, user_id=user.pk)
    if head is None:  # a fresh database: the head row is made once
        AccessLogHead.objects.get_or_create(id=1)
        head = _LOCKED_HEAD.first(shape, user_id=user.pk)
    groups = known_groups if known_groups is not None else head.snapshot_groups
    remember_group_names(user, groups)
    units = ", ".join(sorted(head.snapshot_units))
    roles = ", ".join(sorted(n for n in groups if n in ALL_ROLES))
    return units, roles, head


# --- log reviews -------------------------------------------------------------------------------


def _require_reviewer(user) -> None:
    if not user.has_perm(REVIEW_PERM):
        raise PermissionDenied


def _check_period(period_start: dt.date, period_end: dt.date) -> None:
    if period_end < period_start:
        raise ValidationError(_("The period ends before it starts."), code="period")


def _period_bounds(period_start: dt.date, period_end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(period_start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


@transaction.atomic
def log_review_sample_draw(*, reviewer, period_start: dt.date, period_end: dt.date, size: int) -> LogReview:
    """Draw a random sample ("stickprov") of `size` staff reads in the period and open a review of it.
    The drawn entries are stored by seq so the sample stays the same when looked at again."""
    _require_reviewer(reviewer)
    _check_period(period_start, period_end)
    if size < 1:
        raise ValidationError(_("The sample must hold at least one entry."), code="size")
    start, end = _period_bounds(period_start, period_end)
    seqs = list(
        AccessLogEntry.objects.filter(at__gte=start, at__lt=end)
        .exclude(route=AccessLogEntry.Route.LOG_REVIEW)
        .values_list("seq", flat=True)
    )
    chosen = sorted(secrets.SystemRandom().sample(seqs, min(size, len(seqs))))
    review = LogReview.objects.create(
        reviewer=reviewer,
        kind=LogReview.Kind.SAMPLE,
        period_start=period_start,
        period_end=period_end,
        selection={"size": size, "population": len(seqs)},
        sample_seqs=chosen,
    )
    audit_event_record(
        actor=reviewer,
        action="log_review.sample",
        target=review,
        after={"period": [str(period_start), str(period_end)], "size": len(chosen)},
    )
    return review


@transaction.atomic
def log_review_complete(*, review: LogReview, reviewer, outcome: str, conclusion: str) -> LogReview:
    """Record the conclusion of an open review. Only the reviewer who started it completes it, and a
    completed review is never changed."""
    _require_reviewer(reviewer)
    review = LogReview.objects.select_for_update().get(pk=review.pk)
    if review.reviewer_id != reviewer.pk or review.status != LogReview.Status.OPEN:
        raise PermissionDenied
    if outcome not in LogReview.Outcome.values:
        raise ValidationError(_("Choose an outcome."), code="outcome")
    if not conclusion.strip():
        raise ValidationError(_("Write a conclusion."), code="conclusion")
    review.status = LogReview.Status.DONE
    review.completed_at = timezone.now()
    review.outcome = outcome
    review.conclusion = conclusion.strip()
    review.save(update_fields=["status", "completed_at", "outcome", "conclusion"])
    audit_event_record(
        actor=reviewer, action="log_review.complete", target=review, after={"outcome": outcome}
    )
    return review


@transaction.atomic
def log_review_record(
    *,
    reviewer,
    kind: str,
    period_start: dt.date,
    period_end: dt.date,
    selection: dict[str, Any],
    outcome: str,
    conclusion: str,
) -> LogReview:
    """Record a review done through a search or a targeted check, completed at once."""
    _require_reviewer(reviewer)
    _check_period(period_start, period_end)
    if kind not in (LogReview.Kind.SEARCH, LogReview.Kind.TARGETED):
        raise ValueError(f"Unknown review kind {kind!r}")
    review = LogReview.objects.create(
        reviewer=reviewer,
        kind=kind,
        period_start=period_start,
        period_end=period_end,
        selection=selection,
    )
    return log_review_complete(review=review, reviewer=reviewer, outcome=outcome, conclusion=conclusion)
