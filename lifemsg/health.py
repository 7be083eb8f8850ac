"""`/healthz`: is this node able to serve? Checks the database and the Celery broker.
`/healthz/worker` and `/healthz/beat`: are the Celery worker and beat alive? (monitoring/health.py)

Built on django-health-check (4.x API): its `Database` check runs `SELECT 1` on a fresh connection,
and `Broker` below opens a kombu connection to whatever `CELERY_BROKER_URL` says (Redis in
production, the filesystem transport in `make run`). The answer is always small JSON, meant for
load balancers, `docker compose` health checks and monitoring:

    200 {"status": "ok",    "checks": {"database": "ok", "broker": "ok"}}
    503 {"status": "error", "checks": {"database": "ok", "broker": "error: Unavailable: ..."}}

Error texts name the failing part and the kind of failure, never a URL, host credentials or a
traceback. A Celery *worker* being down is deliberately not a failure of `/healthz`: web nodes can
serve without one (the web container's health check uses it), and the periodic routing sweep catches
up when workers return. Monitoring asks the other two, which answer in the same shape:

    /healthz/worker  {"worker": some worker's heartbeat is recent, "sweep": the routing sweep ran lately}
    /healthz/beat    {"beat": beat's heartbeat is recent}

A dead beat turns `sweep` into an error too (nothing sends it), while `worker` stays ok: the two
answers together tell which process is gone.

Included from `lifemsg/urls.py` with `path("", include("lifemsg.health"))`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu import Connection

from monitoring.health import BeatAlive, SweepRan, WorkerAlive

# A dead service must turn into a fast 503, not a hanging probe. django-health-check gives up on a
# check one second after its `timeout`; the broker's socket timeouts stay inside that budget.
CHECK_TIMEOUT_SECONDS = 2.0


@dataclasses.dataclass
class DatabaseCheck(Database):
    """`SELECT 1` on a fresh connection; the answer names the error class, never host or user."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=CHECK_TIMEOUT_SECONDS), repr=False
    )

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable as exc:
            if exc.__cause__ is None:
                raise
            # The full driver message (host, port, user) goes to the log via health_check's logger.
            raise ServiceUnavailable(
                f"cannot query the database ({type(exc.__cause__).__name__})"
            ) from exc.__cause__


@dataclasses.dataclass
class Broker(HealthCheck):
    """Can this node publish Celery tasks? Reads the broker settings at request time."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=CHECK_TIMEOUT_SECONDS), repr=False
    )

    def run(self) -> None:
        url = settings.CELERY_BROKER_URL
        options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {})
        if url.split("://", 1)[0] == "filesystem":
            self._check_folders(options)
            return
        socket_timeout = self.timeout.total_seconds()
        options.update(socket_connect_timeout=socket_timeout, socket_timeout=socket_timeout)
        connection = Connection(url, connect_timeout=socket_timeout, transport_options=options)
        try:
            # One attempt, no retry sleeps. For Redis, opening the channel sends PING.
            connection.ensure_connection(max_retries=0, reraise_as_library_errors=False)
            connection.default_channel  # noqa: B018  (opening the channel is the check)
        except Exception as exc:
            raise ServiceUnavailable(f"cannot connect to the broker ({type(exc).__name__})") from exc
        finally:
            connection.release()

    @staticmethod
    def _check_folders(options: dict) -> None:
        """kombu's filesystem transport: its queue folders must exist and be writable."""
        names = ["data_folder_in", "data_folder_out"]
        if options.get("store_processed"):
            names.append("processed_folder")
        for name in names:
            folder = Path(options.get(name) or "")
            if not options.get(name) or not folder.is_dir():
                raise ServiceUnavailable(f"filesystem broker folder {name} is missing")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ServiceUnavailable(f"filesystem broker folder {name} is not writable")


class HealthView(HealthCheckView):
    """django-health-check's view, answering in lifemsg's JSON shape with 503 on failure."""

    named_checks: dict[str, type[HealthCheck] | str | tuple] = {
        "database": (DatabaseCheck, {"alias": "default"}),
        "broker": (Broker, {}),
    }
    checks = tuple(named_checks.values())

    @contextlib.contextmanager
    def get_executor(self):
        # Our own pool, dropped without waiting: a probe stuck in a TCP connect must not hold the
        # response (the loop's default executor would be joined when the request's loop closes).
        executor = ThreadPoolExecutor(max_workers=len(self.named_checks), thread_name_prefix="healthz")
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        checks = {
            name: "ok" if result.error is None else f"error: {result.error}"
            for name, result in zip(self.named_checks, results, strict=True)
        }
        healthy = all(result.error is None for result in results)
        return JsonResponse(
            {"status": "ok" if healthy else "error", "checks": checks},
            status=200 if healthy else 503,
        )


class WorkerHealthView(HealthView):
    named_checks = {"worker": (WorkerAlive, {}), "sweep": (SweepRan, {})}
    checks = tuple(named_checks.values())


class BeatHealthView(HealthView):
    named_checks = {"beat": (BeatAlive, {})}
    checks = tuple(named_checks.values())


urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("healthz/worker", WorkerHealthView.as_view(), name="healthz_worker"),
    path("healthz/beat", BeatHealthView.as_view(), name="healthz_beat"),
]
