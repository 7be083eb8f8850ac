"""The load phase: gunicorn (2 sync workers, bench settings) on loopback, a real Celery worker routing
what is sent, and locust headless with 20 simulated handläggare (bench/locustfile.py) for a bounded
time. Returns requests/s, p95 and errors over all requests (login excluded from neither)."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERS = 20
DURATION_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _handlers(database: str, count: int) -> list[list]:
    """`count` present handläggare (no absence at all) with their personal mailbox id."""
    import psycopg

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT u.username, m.id FROM accounts_user u "
            "JOIN mailboxes_mailbox m ON m.owner_id = u.id AND m.kind = 'personal' "
            "WHERE u.kind = 'staff' AND u.username LIKE %s "
            "AND NOT EXISTS (SELECT 1 FROM absence_absence a WHERE a.handler_id = u.id) "
            "ORDER BY u.id LIMIT %s",
            ("%.h%", count),
        ).fetchall()
    return [list(r) for r in rows]


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer at {url}")


def run_load(database: str, redis_url: str, users: int = USERS, duration_s: int = DURATION_S) -> dict:
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "lifemsg.settings.bench", "DATABASE_URL": database, "REDIS_URL": redis_url}
    )
    import django

    django.setup()  # the worker helper talks to the broker through the project's Celery app

    from bench.worker import celery_worker
    from bench.workload import PASSWORD

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bindir = Path(sys.executable).parent
    handlers = _handlers(database, users)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    with celery_worker(concurrency=1), tempfile.TemporaryDirectory() as tmp:
        gunicorn = subprocess.Popen(
            [str(bindir / "gunicorn"), "lifemsg.wsgi:application", "--workers", "2",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            wait_http(f"{host}/logga-in/")
            prefix = str(Path(tmp) / "locust")
            locust = subprocess.run(
                [str(bindir / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                 "-u", str(users), "-r", str(users), "-t", f"{duration_s}s", "--host", host,
                 "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
                cwd=ROOT,
                env={**env, "BENCH_PASSWORD": PASSWORD, "BENCH_HANDLERS": json.dumps(handlers)},
                capture_output=True, text=True, timeout=duration_s + 120,
            )  # fmt: skip
            with open(f"{prefix}_stats.csv", newline="") as f:
                stats = {row["Name"]: row for row in csv.DictReader(f)}
        finally:
            stop_process(gunicorn)
    total = stats["Aggregated"]
    per_name = {
        name: {"requests": int(row["Request Count"]), "median_ms": float(row["Median Response Time"]),
               "p95_ms": float(row["95%"])}
        for name, row in stats.items() if name != "Aggregated"
    }  # fmt: skip
    return {
        "load_users": users,
        "load_duration_s": duration_s,
        "load_requests": int(total["Request Count"]),
        "load_rps": round(float(total["Requests/s"]), 1),
        "load_median_ms": float(total["Median Response Time"]),
        "load_p95_ms": float(total["95%"]),
        "load_errors": int(total["Failure Count"]),
        "load_by_request": per_name,
        "load_locust_exit": locust.returncode,
    }
