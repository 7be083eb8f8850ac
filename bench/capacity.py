"""The capacity phase: how many handläggare one server carries. gunicorn (GUNICORN_WORKERS sync
workers) and a real Celery worker on loopback, and locust (bench/locustfile.py: handläggare browsing
inbox → thread → reply with 0.5–1.5 s between clicks, and one citizen in ten writing in their case)
run at a rising number of simulated users, one step at a time, until a step's p95 passes the target
or a request fails, or the time budget is spent. The answer is the largest step held, and per step
the CPU each kind of process used (bench/cpu.py), so the table says what limits it.

Worker count for 2 cores: 4 sync workers (2 per core). A page spends part of its time waiting for
PostgreSQL, which runs on the same cores, so one worker per core leaves a core idle while its
worker waits; more than two per core only adds processes contending for the same CPU (and memory,
about 60 MB each). Other machines: --workers (bench.run --capacity-workers)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import _handlers, free_port, stop_process, wait_http

ROOT = Path(__file__).resolve().parent.parent
STEPS = (20, 50, 100, 150, 200, 250, 300)
STEP_S = 45
BUDGET_S = 600
GUNICORN_WORKERS = 4
P95_TARGET_MS = 200.0


def _citizen_sessions(count: int) -> list[list[str]]:
    """`count` citizens logged in (sessions in the project's own session store, as the e-legitimation
    login leaves them), each with the path of their case page."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from eservices.models import Case

    sessions = []
    cases = Case.objects.select_related("citizen__user").order_by("-id")[:count]
    for case in cases:
        client = Client()
        client.force_login(case.citizen.user, backend="accounts.backends.ModelBackend")
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        sessions.append([settings.SESSION_COOKIE_NAME, key, reverse("eservices:case", args=[case.pk])])
    return sessions


def _locust_step(bindir: Path, env: dict, host: str, users: int, step_s: int, prefix: str) -> dict:
    # All users start within the first 10 s of the step (spawning is itself work for locust).
    rate = max(1, users // 10)
    subprocess.run(
        [str(bindir / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
         "-u", str(users), "-r", str(rate), "-t", f"{step_s}s", "--host", host,
         "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=step_s + 120,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    total = stats["Aggregated"]
    return {
        "users": users,
        "requests": int(total["Request Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "median_ms": float(total["Median Response Time"]),
        "p95_ms": float(total["95%"]),
        "errors": int(total["Failure Count"]),
        "by_request": {
            name: {"requests": int(r["Request Count"]), "p95_ms": float(r["95%"])}
            for name, r in stats.items()
            if name != "Aggregated"
        },
    }


def limiting(cpu_seconds: dict[str, float], wall_s: float, cores: int) -> str:
    """The kind of process that used most CPU, with each kind's share of the machine."""
    shares = {kind: seconds / (wall_s * cores) for kind, seconds in cpu_seconds.items()}
    busiest = max(shares, key=shares.get)
    spelled = ", ".join(f"{kind} {share:.0%}" for kind, share in sorted(shares.items(), key=lambda x: -x[1]))
    return f"{busiest} ({spelled} of {cores} cores)"


def run_capacity(
    database: str,
    redis_url: str,
    *,
    steps: tuple[int, ...] = STEPS,
    step_s: int = STEP_S,
    budget_s: int = BUDGET_S,
    workers: int = GUNICORN_WORKERS,
    citizens: int = 200,
) -> dict:
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "lifemsg.settings.bench", "DATABASE_URL": database, "REDIS_URL": redis_url}
    )
    import django

    django.setup()

    from bench.cpu import CpuSampler
    from bench.worker import celery_worker
    from bench.workload import PASSWORD

    bindir = Path(sys.executable).parent
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_HANDLERS": json.dumps(_handlers(database, max(steps))),
        "BENCH_CITIZENS": json.dumps(_citizen_sessions(citizens)),
    }
    started, results, held = time.monotonic(), [], 0
    with celery_worker(concurrency=1), tempfile.TemporaryDirectory() as tmp:
        gunicorn = subprocess.Popen(
            [str(bindir / "gunicorn"), "lifemsg.wsgi:application", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            wait_http(f"{host}/logga-in/")
            for users in steps:
                if time.monotonic() - started + step_s > budget_s:
                    break
                wall = time.monotonic()
                with CpuSampler() as cpu:
                    step = _locust_step(bindir, env, host, users, step_s, str(Path(tmp) / f"u{users}"))
                wall = time.monotonic() - wall
                step["cpu_s"] = cpu.seconds
                step["limited_by"] = limiting(cpu.seconds, wall, os.cpu_count() or 1)
                step["loadavg_1"] = round(os.getloadavg()[0], 2)
                results.append(step)
                print(f"  capacity   {users} users: p95 {step['p95_ms']} ms, {step['errors']} errors, "
                      f"{step['rps']} req/s; CPU {step['limited_by']}", flush=True)  # fmt: skip
                if step["p95_ms"] > P95_TARGET_MS or step["errors"]:
                    break
                held = users
        finally:
            stop_process(gunicorn)
    last = results[-1] if results else {}
    return {
        "capacity_users": held,
        "capacity_workers": workers,
        "capacity_step_s": step_s,
        "capacity_limited_by": last.get("limited_by", ""),
        "capacity_steps": results,
    }
