"""Celery beat's heartbeat: the scheduler lifemsg runs (CELERY_BEAT_SCHEDULER) records one every
LIVENESS_HEARTBEAT_SECONDS from its own loop, so beat's liveness is seen apart from the worker's."""

from __future__ import annotations

import socket
import time

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import close_old_connections

from . import pulse
from .models import Heartbeat


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler (the schedule file), reporting a heartbeat as it ticks."""

    def __init__(self, *args, **kwargs):
        self._next_heartbeat = 0.0
        self._name = socket.gethostname()
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        pulse.forget_silent()

    def tick(self, *args, **kwargs) -> float:
        delay = super().tick(*args, **kwargs)
        interval = settings.LIVENESS_HEARTBEAT_SECONDS
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + interval
            close_old_connections()  # drop a connection the database closed meanwhile
            pulse.report(component=Heartbeat.Component.BEAT, name=self._name)
        # Wake up at least once an interval, however far off the next task is.
        return min(delay, max(self._next_heartbeat - time.monotonic(), 0.0))
