"""A real Celery worker for the flow phases: `celery -A lifemsg worker` as a subprocess on the bench
Redis db, with the bench settings and database. The db is emptied first, so nothing left over from an
earlier run is measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "lifemsg.settings.bench", "PYTHONPATH": str(ROOT)}


def purge() -> None:
    """Empty the bench's own Redis db: the task queue and the cache (rate-limit counters of earlier
    runs included), so every run starts from the same state."""
    from lifemsg.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()


@contextmanager
def celery_worker(concurrency: int = 2, ready_timeout: float = 60.0):
    """Start the worker, wait until it answers a ping, stop it (warm shutdown) on exit."""
    from lifemsg.celery import app

    purge()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "lifemsg",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {proc.returncode}")
            if app.control.ping(timeout=0.5):
                break
        else:
            raise RuntimeError("celery worker did not answer within the timeout")
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
