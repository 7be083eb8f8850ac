#!/usr/bin/env python3
"""Docker health check for the web container: GET /healthz on the local gunicorn.

Exit 0 when lifemsg answers 200 (database and broker reachable), 1 otherwise. The request carries
a Host header from ALLOWED_HOSTS (so Django accepts it) and `X-Forwarded-Proto: https` (so the
production SSL redirect does not answer 301 instead); only processes inside the container reach
this port directly. Standard library only.
"""

from __future__ import annotations

import http.client
import os
import sys

PORT = int(os.environ.get("HEALTHCHECK_PORT", "8000"))
TIMEOUT_SECONDS = 8


def host_header() -> str:
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def main() -> int:
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


if __name__ == "__main__":
    sys.exit(main())
