"""How a Celery process reports that it is alive: a row in the database (read by /healthz/worker,
/healthz/beat and /metrics) and, once that row is written, a file in LIVENESS_HEARTBEAT_DIR whose
age the container's own health check reads (scripts/container_healthcheck.py), so a container's
health is that of its own process and needs neither the web server nor Django to be checked."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import connection

from . import services

logger = logging.getLogger(__name__)


def heartbeat_file(component: str) -> Path:
    return Path(settings.LIVENESS_HEARTBEAT_DIR) / f"heartbeat-{component}"


def report(*, component: str, name: str, task_finished: bool = False, keep_connection: bool = True) -> bool:
    """Record the heartbeat; False (logged) if the database would not take it. Never raises: a
    heartbeat must not take down the process it reports on. `keep_connection=False` closes this
    thread's database connection afterwards (see worker.WorkerHeartbeat)."""
    try:
        services.heartbeat_record(component=component, name=name, task_finished=task_finished)
    except Exception as exc:
        logger.warning("could not record the %s heartbeat (%s)", component, type(exc).__name__)
        return False
    finally:
        if not keep_connection:
            connection.close()
    try:
        path = heartbeat_file(component)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path)
    except OSError as exc:
        logger.warning("could not touch the %s heartbeat file (%s)", component, type(exc).__name__)
    return True


def forget_silent() -> None:
    """Prune the rows of processes long gone (when a worker or beat starts); never raises."""
    try:
        services.heartbeats_prune()
    except Exception as exc:
        logger.warning("could not prune old heartbeats (%s)", type(exc).__name__)
