"""Writes of the monitoring app: Celery processes report here (see models)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from .models import Heartbeat, SweepTotals

SWEEP_TOTALS_ID = 1
# A worker host name not heard from for this long is forgotten (containers get a new one each start).
HEARTBEAT_KEPT = timedelta(days=2)


def heartbeat_record(*, component: str, name: str, task_finished: bool = False, now: datetime | None = None):
    """This process is alive (and, with `task_finished`, has just finished a task): one upsert."""
    now = now or timezone.now()
    row = Heartbeat(component=component, name=name[:255], seen_at=now)
    update_fields = ["seen_at"]
    if task_finished:
        row.task_finished_at = now
        update_fields.append("task_finished_at")
    Heartbeat.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["component", "name"], update_fields=update_fields
    )


def heartbeats_prune(*, now: datetime | None = None) -> int:
    """Forget processes silent for HEARTBEAT_KEPT (called when a worker or beat starts)."""
    cutoff = (now or timezone.now()) - HEARTBEAT_KEPT
    deleted, _ = Heartbeat.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


def sweep_run_record(*, routed: int, failed: int, forwarded: int, now: datetime | None = None) -> None:
    """A sweep run finished: add it to the totals (one UPDATE; the row is made on first need)."""
    changes = {
        "runs": F("runs") + 1,
        "routed": F("routed") + routed,
        "failed": F("failed") + failed,
        "forwarded": F("forwarded") + forwarded,
        "last_finished_at": now or timezone.now(),
    }
    if not SweepTotals.objects.filter(pk=SWEEP_TOTALS_ID).update(**changes):
        SweepTotals.objects.get_or_create(pk=SWEEP_TOTALS_ID)
        SweepTotals.objects.filter(pk=SWEEP_TOTALS_ID).update(**changes)
