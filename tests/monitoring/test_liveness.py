"""Liveness with real processes: `celery worker` and `celery beat` on the test database and broker,
SIGKILLed (a crash: nothing is said on the way out) and started again. /healthz/worker and
/healthz/beat must answer 503 within their configured limit of the kill and 200 once the process
runs again, and the containers' own checks (scripts/container_healthcheck.py) must agree. A worker
that has lost its broker is not alive either, until it has reconnected."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from lifemsg.celery import app as celery_app
from tests.absence.test_broker_outage import RedisServer, _free_port
from tests.monitoring.helpers import ROOT, celery_process, health, kill

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MAX_AGE = 5.0  # the limits of these tests (web side); the processes beat every second
SLACK = 2.5  # polling, and scheduling on a busy machine
START_TIMEOUT = 90.0  # a Celery process starting on a loaded 2-core machine


@pytest.fixture
def limits(settings):
    settings.LIVENESS_WORKER_MAX_AGE_SECONDS = MAX_AGE
    settings.LIVENESS_BEAT_MAX_AGE_SECONDS = MAX_AGE
    settings.LIVENESS_SWEEP_MAX_AGE_SECONDS = 3 * MAX_AGE


@pytest.fixture
def start(tmp_path, limits) -> Callable[[str], subprocess.Popen]:
    """Starts `celery worker` or `celery beat` (heartbeat every second, a routing sweep every second);
    kills whatever it started at the end."""
    celery_app.control.purge()
    started: list[subprocess.Popen] = []

    def _start(role: str) -> subprocess.Popen:
        process = celery_process(
            role,
            var_dir=tmp_path / "var",
            log=tmp_path / f"{role}.log",
            extra_env={"LIVENESS_HEARTBEAT_SECONDS": "1", "ROUTING_SWEEP_INTERVAL_SECONDS": "1"},
        )
        started.append(process)
        return process

    yield _start
    for process in started:
        kill(process)
    celery_app.control.purge()  # the sweeps beat queued for nobody


def wait_for_status(path: str, status: int, timeout: float) -> tuple[float, dict]:
    """Poll until `path` answers `status`; (seconds taken, last body). Fails after `timeout`."""
    started = time.monotonic()
    while True:
        code, body = health(path)
        elapsed = time.monotonic() - started
        if code == status:
            return elapsed, body
        assert elapsed < timeout, f"{path} still {code} after {elapsed:.1f} s: {body}"
        time.sleep(0.2)


def container_check(role: str, tmp_path) -> int:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LIFEMSG_VAR_DIR": str(tmp_path / "var"),
        f"LIVENESS_{role.upper()}_MAX_AGE_SECONDS": str(MAX_AGE),
    }
    script = ROOT / "scripts" / "container_healthcheck.py"
    return subprocess.run([sys.executable, script, role], env=env, capture_output=True, timeout=30).returncode


def test_healthz_worker_is_503_within_the_limit_after_the_worker_is_killed_and_200_again_after_restart(
    start, tmp_path
):
    start("beat")
    worker = start("worker")
    wait_for_status("/healthz/worker", 200, START_TIMEOUT)
    assert container_check("worker", tmp_path) == 0

    kill(worker)
    took, body = wait_for_status("/healthz/worker", 503, MAX_AGE + SLACK)
    assert took <= MAX_AGE + SLACK
    assert body["checks"]["worker"].startswith("error: ")
    # Beat is alive and says so: an operator can tell which process is gone.
    assert health("/healthz/beat")[0] == 200
    # The sweeps beat keeps sending are not run: the sweep part turns 503 too, later.
    wait_for_status("/healthz/worker", 503, 3 * MAX_AGE + SLACK)
    assert container_check("worker", tmp_path) == 1

    start("worker")  # not restarted by anyone else: the endpoint stays 503 until this
    _, body = wait_for_status("/healthz/worker", 200, START_TIMEOUT)
    assert body["checks"] == {"worker": "ok", "sweep": "ok"}
    assert container_check("worker", tmp_path) == 0


def test_healthz_beat_is_503_within_the_limit_after_beat_is_killed_and_200_again_after_restart(
    start, tmp_path
):
    beat = start("beat")
    start("worker")
    wait_for_status("/healthz/beat", 200, START_TIMEOUT)
    wait_for_status("/healthz/worker", 200, START_TIMEOUT)
    assert container_check("beat", tmp_path) == 0

    kill(beat)
    took, body = wait_for_status("/healthz/beat", 503, MAX_AGE + SLACK)
    assert took <= MAX_AGE + SLACK
    assert body["checks"]["beat"].startswith("error: ")
    # The worker is alive; only the sweep (which beat sends) goes stale.
    _, body = wait_for_status("/healthz/worker", 503, 3 * MAX_AGE + SLACK)
    assert body["checks"]["worker"] == "ok"
    assert body["checks"]["sweep"].startswith("error: ")
    assert container_check("beat", tmp_path) == 1

    start("beat")
    wait_for_status("/healthz/beat", 200, START_TIMEOUT)
    wait_for_status("/healthz/worker", 200, START_TIMEOUT)
    assert container_check("beat", tmp_path) == 0


def test_the_worker_check_fails_while_the_broker_is_gone_and_recovers_when_it_is_back(limits, tmp_path):
    """The heartbeat comes from a consumer step, which Celery stops while the broker connection is
    lost: a worker process that is running but cannot take tasks is reported as such."""
    server = RedisServer(_free_port(), tmp_path / "redis.log")
    server.start()
    broker = {"REDIS_URL": server.url, "CELERY_BROKER_URL": server.url, "CELERY_RESULT_BACKEND": server.url}
    worker = celery_process(
        "worker",
        var_dir=tmp_path / "var",
        log=tmp_path / "worker.log",
        extra_env={"LIVENESS_HEARTBEAT_SECONDS": "1", **broker},
    )

    def worker_check() -> str:
        return health("/healthz/worker")[1]["checks"]["worker"]

    def wait_for_check(ok: bool, timeout: float) -> float:
        started = time.monotonic()
        while (worker_check() == "ok") != ok:
            elapsed = time.monotonic() - started
            assert elapsed < timeout, f"worker check not {'ok' if ok else 'failing'} after {elapsed:.1f} s"
            time.sleep(0.2)
        return time.monotonic() - started

    try:
        wait_for_check(True, START_TIMEOUT)
        server.stop()
        assert wait_for_check(False, MAX_AGE + SLACK) <= MAX_AGE + SLACK
        assert worker.poll() is None  # alive, trying to reconnect: only the heartbeat tells
        server.start()  # the same port, as a restarted Redis container
        wait_for_check(True, 60)  # Celery's reconnect backoff
    finally:
        kill(worker)
        server.stop()
