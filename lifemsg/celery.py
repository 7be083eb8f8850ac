"""Celery application, per Celery's "First steps with Django" recipe."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifemsg.settings.local")

app = Celery("lifemsg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
