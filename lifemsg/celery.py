"""Celery application, per Celery's "First steps with Django" recipe."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifemsg.settings.local")

app = Celery("lifemsg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's heartbeat (monitoring/worker.py), named by path: Celery loads it once Django is set up.
app.steps["consumer"].add("monitoring.worker:WorkerHeartbeat")
# After the broker comes back, the worker routes what waits (absence/worker_steps.py); named by path,
# so Celery loads it once Django is set up.
app.steps["consumer"].add("absence.worker_steps:RouteWaitingAfterReconnect")


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    """Database connections in a worker live as they do in a web process: closed when unusable or
    older than CONN_MAX_AGE, checked before and after each task. (Celery's own Django fix-up closes
    them around every task unless CELERY_DB_REUSE_MAX is set, as the settings do: a new PostgreSQL
    connection per task cost more than a routing task itself.)"""
    if kwargs.get("task") is not None and getattr(kwargs["task"].request, "is_eager", False):
        return
    close_old_connections()
