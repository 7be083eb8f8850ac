"""The Celery worker's heartbeat: a consumer bootstep (lifemsg/celery.py adds it) and a signal.

The bootstep records a heartbeat when the worker's consumer has started and then every
LIVENESS_HEARTBEAT_SECONDS, on the consumer's own timer (not a thread of its own). Celery stops
consumer steps when the broker connection is lost, and the consumer's loop that drives the timer
waits while it reconnects, so the heartbeat stops while the worker cannot take tasks. Each
finished task records one too (at most once per interval and process), as `task_finished_at`.

A worker that is alive but stuck (every pool process busy for ever) keeps its heartbeat; that shows as
the routing sweep not running (the `sweep` check of /healthz/worker), since beat sends it every minute.
"""

from __future__ import annotations

import threading
import time

from celery import bootsteps
from celery.signals import task_postrun
from django.conf import settings

from . import pulse
from .models import Heartbeat


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        self.tref = None
        super().__init__(parent, **kwargs)

    def start(self, c) -> None:
        pulse.forget_silent()
        self._beat(c.hostname)
        self.tref = c.timer.call_repeatedly(settings.LIVENESS_HEARTBEAT_SECONDS, self._beat, (c.hostname,))

    def stop(self, c) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

    @staticmethod
    def _beat(hostname: str) -> None:
        # The connection is closed after each write: the prefork pool forks its processes from this
        # one, and a child must never inherit (and then close) a connection this process still uses.
        pulse.report(component=Heartbeat.Component.WORKER, name=hostname, keep_connection=False)


_last_task_report = 0.0
_last_task_lock = threading.Lock()


def _task_finished(sender=None, task=None, **kwargs) -> None:
    global _last_task_report
    request = getattr(task, "request", None)
    if request is None or getattr(request, "is_eager", False) or not request.hostname:
        return
    with _last_task_lock:
        now = time.monotonic()
        if now - _last_task_report < settings.LIVENESS_HEARTBEAT_SECONDS:
            return
        _last_task_report = now
    pulse.report(component=Heartbeat.Component.WORKER, name=request.hostname, task_finished=True)


def connect_signals() -> None:
    task_postrun.connect(_task_finished, dispatch_uid="monitoring.task_finished", weak=False)
