"""Timing helpers: server time through Django's test client, with the SQL query count."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext

COUNTED = 3

WARMUP = 10
REQUESTS = 100


@dataclass
class PageResult:
    name: str
    median_ms: float
    p95_ms: float
    queries: int  # the most a request made: the one that refreshes the session's idle timer
    queries_plain: int  # the most a request made that did not
    requests: int
    status: int

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _idle_refresh_due(client) -> None:
    from accounts.middleware import IdleTimeoutMiddleware

    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = time.time() - IdleTimeoutMiddleware.RESOLUTION
    session.save()


def measure_get(client, name: str, url: str, *, warmup: int = WARMUP, requests: int = REQUESTS) -> PageResult:
    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
    times = []
    queries = 0
    status = 200
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    # Counted apart from the timed requests: CaptureQueriesContext switches on Django's debug cursor,
    # which (with server-side binding) renders every statement with its parameters client-side, about
    # 1 ms a statement here, time no user's request spends. Transactions' BEGIN/COMMIT count too.
    for _ in range(COUNTED):
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries = max(queries, len(ctx.captured_queries))
    # Every RESOLUTION seconds a user's request also stores the session's last activity (the idle
    # timeout): one request counted with that due, so the figure is the most a user's request makes.
    _idle_refresh_due(client)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    refreshed = len(ctx.captured_queries)
    return PageResult(
        name=name,
        median_ms=round(statistics.median(times), 2),
        p95_ms=round(percentile(times, 95), 2),
        queries=max(queries, refreshed),
        queries_plain=queries,
        requests=requests,
        status=status,
    )
