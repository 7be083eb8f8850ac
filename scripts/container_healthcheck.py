#!/usr/bin/env python3
"""Docker health checks of lifemsg's containers. Standard library only.

    container_healthcheck.py           web: GET /healthz on the local gunicorn (database and broker)
    container_healthcheck.py worker    this container's Celery worker has recorded its heartbeat lately
    container_healthcheck.py beat      this container's Celery beat has recorded its heartbeat lately

Exit 0 when healthy, 1 otherwise, with one line saying why.

web: the request carries a Host header from ALLOWED_HOSTS (so Django accepts it) and
`X-Forwarded-Proto: https` (so the production SSL redirect does not answer 301 instead); only
processes inside the container reach this port directly.

worker, beat: each process touches `heartbeat-<role>` in LIVENESS_HEARTBEAT_DIR (default
LIFEMSG_VAR_DIR) whenever it has written its heartbeat to the database (monitoring/pulse.py): the
same heartbeat /healthz/worker and /healthz/beat read, but of this container's process alone, and
checked without the web server or Django. The limits are the settings' own variables, with the same
defaults (LIVENESS_WORKER_MAX_AGE_SECONDS, LIVENESS_BEAT_MAX_AGE_SECONDS).
"""

from __future__ import annotations

import http.client
import os
import sys
import time
from pathlib import Path

PORT = int(os.environ.get("HEALTHCHECK_PORT", "8000"))
TIMEOUT_SECONDS = 8
ROOT = Path(__file__).resolve().parent.parent
MAX_AGE_DEFAULTS = {"worker": 60.0, "beat": 60.0}


def host_header() -> str:
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def check_web() -> int:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=TIMEOUT_SECONDS)
    try:
        connection.request(
            "GET",
            "/healthz",
            headers={"Host": host_header(), "X-Forwarded-Proto": "https", "Accept": "application/json"},
        )
        response = connection.getresponse()
        body = response.read(2000).decode("utf-8", errors="replace")
    except OSError as exc:
        print(f"healthz: no answer on port {PORT}: {exc}")
        return 1
    finally:
        connection.close()
    print(f"healthz: {response.status} {body}")
    return 0 if response.status == 200 else 1


def heartbeat_dir() -> Path:
    configured = os.environ.get("LIVENESS_HEARTBEAT_DIR") or os.environ.get("LIFEMSG_VAR_DIR")
    return Path(configured) if configured else ROOT / "var"


def check_heartbeat(role: str) -> int:
    limit = float(os.environ.get(f"LIVENESS_{role.upper()}_MAX_AGE_SECONDS") or MAX_AGE_DEFAULTS[role])
    path = heartbeat_dir() / f"heartbeat-{role}"
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"{role} heartbeat: none recorded ({path})")
        return 1
    healthy = age <= limit
    print(f"{role} heartbeat: {age:.0f} s old (limit {limit:g} s){'' if healthy else ': stale'}")
    return 0 if healthy else 1


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else "web"
    if role == "web":
        return check_web()
    if role in MAX_AGE_DEFAULTS:
        return check_heartbeat(role)
    print(f"unknown role {role!r}: web, worker or beat")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
