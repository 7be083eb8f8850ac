"""Reads of the monitoring app, for the health checks and the metrics (one small query each)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from .models import Heartbeat, SweepTotals
from .services import SWEEP_TOTALS_ID


@dataclasses.dataclass(frozen=True)
class ComponentSeen:
    """The processes of one component (all workers, or beat) taken together."""

    latest_seen_at: datetime | None = None
    latest_task_finished_at: datetime | None = None
    # Processes whose heartbeat is younger than the age asked about.
    alive: int = 0


def components_seen(*, now: datetime, max_age: dict[str, timedelta]) -> dict[str, ComponentSeen]:
    """{component: what its processes last reported}, for each component in `max_age` (one query)."""
    rows = (
        Heartbeat.objects.filter(component__in=list(max_age))
        .values("component")
        .annotate(
            latest_seen_at=Max("seen_at"),
            latest_task_finished_at=Max("task_finished_at"),
            **{
                f"alive_{component}": Count("pk", filter=Q(seen_at__gte=now - age))
                for component, age in max_age.items()
            },
        )
        .order_by()
    )
    seen = {component: ComponentSeen() for component in max_age}
    for row in rows:
        component = row["component"]
        seen[component] = ComponentSeen(
            latest_seen_at=row["latest_seen_at"],
            latest_task_finished_at=row["latest_task_finished_at"],
            alive=row[f"alive_{component}"],
        )
    return seen


def sweep_totals() -> SweepTotals:
    """The sweep's totals (all zero, unsaved, before the first run)."""
    return SweepTotals.objects.filter(pk=SWEEP_TOTALS_ID).first() or SweepTotals(pk=SWEEP_TOTALS_ID)
