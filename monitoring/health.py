"""Health checks (django-health-check 4.x) for the Celery worker and beat, served by lifemsg/health.py
at /healthz/worker and /healthz/beat. Each reads what the processes reported (see models) in one
small query on a connection of its own, and answers in seconds, never a host name or a traceback."""

from __future__ import annotations

import dataclasses
import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from . import selectors
from .models import Heartbeat

CHECK_TIMEOUT = datetime.timedelta(seconds=2)


def _too_old(what: str, at: datetime.datetime | None, now: datetime.datetime, limit: float) -> None:
    if at is None:
        raise ServiceUnavailable(f"{what}: none recorded")
    age = (now - at).total_seconds()
    if age > limit:
        raise ServiceUnavailable(f"{what}: last {age:.0f} s ago (limit {limit:g} s)")


@dataclasses.dataclass
class _Liveness(HealthCheck):
    timeout: datetime.timedelta = dataclasses.field(default=CHECK_TIMEOUT, repr=False)

    def run(self) -> None:
        try:
            self.check(timezone.now())
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot read the heartbeats ({type(exc).__name__})") from exc
        finally:
            connection.close()  # this thread's, opened for this check only

    def check(self, now: datetime.datetime) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class WorkerAlive(_Liveness):
    """Some worker is connected to the broker: its heartbeat is younger than the limit."""

    def check(self, now: datetime.datetime) -> None:
        limit = settings.LIVENESS_WORKER_MAX_AGE_SECONDS
        component = Heartbeat.Component.WORKER
        seen = selectors.components_seen(now=now, max_age={component: datetime.timedelta(seconds=limit)})
        _too_old("worker heartbeat", seen[component].latest_seen_at, now, limit)


@dataclasses.dataclass
class SweepRan(_Liveness):
    """The routing sweep finished a run lately: beat sent it and a worker took and ran it."""

    def check(self, now: datetime.datetime) -> None:
        totals = selectors.sweep_totals()
        _too_old("routing sweep", totals.last_finished_at, now, settings.LIVENESS_SWEEP_MAX_AGE_SECONDS)


@dataclasses.dataclass
class BeatAlive(_Liveness):
    """Celery beat's scheduler loop runs: its heartbeat is younger than the limit."""

    def check(self, now: datetime.datetime) -> None:
        limit = settings.LIVENESS_BEAT_MAX_AGE_SECONDS
        component = Heartbeat.Component.BEAT
        seen = selectors.components_seen(now=now, max_age={component: datetime.timedelta(seconds=limit)})
        _too_old("beat heartbeat", seen[component].latest_seen_at, now, limit)
