"""Carrying out an approved run, batch by batch.

Each batch is one transaction: lock the run row (two workers holding the same run — a redelivered
task beside the original — take turns, never the same batch), check the run may go on, remove up to
BATCH_SIZE listed records of one kind with what refers to them, mark those items done, add the
counts. A worker that dies mid-batch loses only the uncommitted batch; the task (acks_late) or the
sweep (retention.resume) starts again from the items not done, so a run is resumable and no record
is removed twice. Only listed ids are removed: records that grew old after the list was made wait
for the next run. The run stops, cancelled, if the rules in effect are no longer those it was
approved under.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from audit.message_retention import messages_delete_listed
from audit.retention import access_log_prune
from audit.services import audit_event_record
from mailboxes.models import Attachment
from mailboxes.services.retention import RETENTION_BATCH_SIZE, attachments_delete_listed

from .models import ITEM_KINDS, MESSAGE_KINDS, Kind, RetentionItem, RetentionRun
from .rules import rule_ids_in_effect
from .services import run_end

BATCH_SIZE = RETENTION_BATCH_SIZE


def run_step(*, run_id: int, batch_size: int = BATCH_SIZE) -> bool:
    """Carry out one batch of an approved run; True while more remains. Returns False (doing
    nothing) for a run that is not approved or under way."""
    with transaction.atomic():
        run = RetentionRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.state not in (RetentionRun.State.APPROVED, RetentionRun.State.RUNNING):
            return False
        if rule_ids_in_effect() != run.rules:
            run_end(run=run, state=RetentionRun.State.CANCELLED, reason="rules_changed_after_approval")
            return False
        now = timezone.now()
        if run.state == RetentionRun.State.APPROVED:
            run.state, run.started_at = RetentionRun.State.RUNNING, now
        for kind in ITEM_KINDS:
            pending = RetentionItem.objects.filter(run=run, kind=kind, keep_reason="", done=False)
            ids = list(pending.order_by("object_id").values_list("object_id", flat=True)[:batch_size])
            if ids:
                _add(run, kind, _items_delete(run, kind, ids))
                RetentionItem.objects.filter(run=run, kind=kind, object_id__in=ids).update(done=True)
                run.progress_at = now
                run.save(update_fields=["state", "started_at", "progress_at", "done_counts"])
                return True
        if not _access_log_step(run):
            return False
        run.progress_at = now
        run.save(update_fields=["state", "started_at", "progress_at", "done_counts"])
        run_end(run=run, state=RetentionRun.State.DONE, actor=None, reason="")
        return False


def run_until_done(*, run_id: int, batch_size: int = BATCH_SIZE, deadline: float | None = None) -> bool:
    """Batches until the run ends; False when `deadline` (time.monotonic) came first."""
    while run_step(run_id=run_id, batch_size=batch_size):
        if deadline is not None and time.monotonic() > deadline:
            return False
    return True


def _items_delete(run: RetentionRun, kind: str, ids: list[int]) -> dict[str, int]:
    cutoff = dt.datetime.fromisoformat(run.criteria[kind]["cutoff"])
    if kind in MESSAGE_KINDS:
        return messages_delete_listed(message_ids=ids, cutoff=cutoff, run_id=run.pk).as_dict()
    deleted = attachments_delete_listed(attachment_ids=ids)
    audit_event_record(
        actor=None,
        action="retention.attachments",
        target=Attachment,
        target_repr=f"retention run #{run.pk}",
        after={"run": run.pk, "cutoff": cutoff.isoformat(), "attachments": deleted},
    )
    return {"attachments": deleted}


def _access_log_step(run: RetentionRun) -> bool:
    """Remove the access log's listed prefix (once). False when the chain does not verify: the run
    has failed then, and nothing of the log was removed."""
    log = run.criteria.get(Kind.ACCESS_LOG) or {}
    if not log.get("through_seq") or Kind.ACCESS_LOG in run.done_counts:
        return True
    result = access_log_prune(days=log["days"], through_seq=log["through_seq"])
    if result.refused:
        run_end(run=run, state=RetentionRun.State.FAILED, reason=f"access_log_refused: {result.refused}")
        return False
    _add(run, Kind.ACCESS_LOG, {"entries": result.deleted})
    return True


def _add(run: RetentionRun, kind: str, counts: dict[str, int]) -> None:
    done = run.done_counts.setdefault(kind, {})
    for name, value in counts.items():
        done[name] = done.get(name, 0) + value
