"""Shared by the monitoring tests: health answers, and Celery worker and beat as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def health(path: str) -> tuple[int, dict]:
    """GET a health endpoint through the full middleware stack, from a fresh thread (the views are
    async; see tests/test_foundation_infra.get_healthz). Returns (status, JSON body)."""

    def call():
        try:
            response = Client().get(path, HTTP_ACCEPT="application/json")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":  # the test database's file (lifemsg.settings.test)
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def celery_process(role: str, *, var_dir: Path, log: Path, extra_env: dict[str, str]) -> subprocess.Popen:
    """`celery -A lifemsg worker|beat` on the test database and broker, in a process group of its
    own (so the test can SIGKILL it whole), state and heartbeat files under `var_dir`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "LIFEMSG_VAR_DIR": str(var_dir),
        **extra_env,
    }
    argv = [sys.executable, "-m", "celery", "-A", "lifemsg", role, "-l", "warning"]
    if role == "worker":
        name = f"liveness-{os.getpid()}@localhost"
        argv += ["-P", "solo", "-n", name, "--without-gossip", "--without-mingle"]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process group (a crash: no shutdown handler runs) and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)
