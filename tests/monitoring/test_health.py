"""/healthz/worker and /healthz/beat from what the processes recorded; /healthz stays the web
node's own check. (test_liveness.py runs them against real worker and beat processes.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from monitoring.models import Heartbeat
from monitoring.services import heartbeat_record, sweep_run_record
from tests.monitoring.helpers import health

# The checks read on connections of their own: the rows must be committed.
committed = pytest.mark.django_db(transaction=True)

WORKER, BEAT = Heartbeat.Component.WORKER, Heartbeat.Component.BEAT


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_the_worker_and_beat_checks_have_urls_of_their_own():
    assert resolve("/healthz/worker").url_name == "healthz_worker"
    assert resolve("/healthz/beat").url_name == "healthz_beat"


@committed
def test_nothing_ever_reported_is_503_naming_each_part():
    status, body = health("/healthz/worker")
    assert status == 503
    assert body == {
        "status": "error",
        "checks": {
            "worker": "error: Unavailable: worker heartbeat: none recorded",
            "sweep": "error: Unavailable: routing sweep: none recorded",
        },
    }
    status, body = health("/healthz/beat")
    assert (status, body["checks"]) == (503, {"beat": "error: Unavailable: beat heartbeat: none recorded"})


@committed
def test_the_web_nodes_own_check_stays_ok_without_worker_and_beat():
    status, body = health("/healthz")
    assert status == 200
    assert body["checks"] == {"database": "ok", "broker": "ok"}


@committed
def test_fresh_heartbeats_and_a_recent_sweep_are_200():
    heartbeat_record(component=WORKER, name="celery@one")
    heartbeat_record(component=BEAT, name="beat")
    sweep_run_record(routed=0, failed=0, forwarded=0)
    assert health("/healthz/worker") == (200, {"status": "ok", "checks": {"worker": "ok", "sweep": "ok"}})
    assert health("/healthz/beat") == (200, {"status": "ok", "checks": {"beat": "ok"}})


@committed
def test_a_worker_heartbeat_older_than_the_limit_is_503(settings):
    settings.LIVENESS_WORKER_MAX_AGE_SECONDS = 30
    sweep_run_record(routed=0, failed=0, forwarded=0)
    heartbeat_record(component=WORKER, name="celery@one", now=ago(45))
    status, body = health("/healthz/worker")
    assert status == 503
    assert body["checks"]["sweep"] == "ok"
    assert body["checks"]["worker"].startswith("error: Unavailable: worker heartbeat: last 4")
    assert body["checks"]["worker"].endswith("s ago (limit 30 s)")

    heartbeat_record(component=WORKER, name="celery@two", now=ago(20))  # one live worker is enough
    assert health("/healthz/worker")[0] == 200


@committed
def test_a_sweep_that_has_not_run_for_longer_than_the_limit_is_503(settings):
    settings.LIVENESS_SWEEP_MAX_AGE_SECONDS = 180
    heartbeat_record(component=WORKER, name="celery@one")
    sweep_run_record(routed=0, failed=0, forwarded=0, now=ago(200))
    status, body = health("/healthz/worker")
    assert status == 503
    assert body["checks"]["worker"] == "ok"
    assert body["checks"]["sweep"].startswith("error: Unavailable: routing sweep: last 2")


@committed
def test_a_beat_heartbeat_older_than_the_limit_is_503(settings):
    settings.LIVENESS_BEAT_MAX_AGE_SECONDS = 60
    heartbeat_record(component=BEAT, name="beat", now=ago(61))
    assert health("/healthz/beat")[0] == 503
    heartbeat_record(component=BEAT, name="beat")
    assert health("/healthz/beat")[0] == 200


def test_the_limits_default_to_a_minute_and_three_sweeps():
    from django.conf import settings

    assert settings.LIVENESS_WORKER_MAX_AGE_SECONDS == 60
    assert settings.LIVENESS_BEAT_MAX_AGE_SECONDS == 60
    assert settings.LIVENESS_SWEEP_MAX_AGE_SECONDS == 180
    assert settings.LIVENESS_HEARTBEAT_SECONDS < settings.LIVENESS_WORKER_MAX_AGE_SECONDS / 3
