"""The worker survives the broker going away (issue 18): a real `celery -A lifemsg worker` process on a
Redis server of this test's own, stopped while the worker holds an unacknowledged routing task and
started again on the same port. Celery 5.7.0's worker exits here (README, "Dependencies"); the lock
file keeps it out, and this test decides whether a newer release may come in (make upgrade)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection, transaction

from eservices.services import citizen_message_send
from lifemsg.celery import app as celery_app
from mailboxes.models import Delivery, Message
from tests import factories
from tests.absence.helpers import sick_leave
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# How long the routing task waits before it starts: long enough that the worker still holds it,
# unacknowledged, when Redis goes away (production's coalescing delay is shorter; the state is the same).
COUNTDOWN = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server subprocess without persistence: stopped, it comes back empty, as a Redis
    container does that lost its volume (the worst case for messages the broker held)."""

    def __init__(self, port: int, log: Path):
        self.port, self.log, self.process = port, log, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        assert wait_for(lambda: _answers(client), timeout=10), f"redis-server did not start on {self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed on PATH (Debian: apt-get install redis-server)")
    server = RedisServer(_free_port(), tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def on_private_redis(private_redis, settings):
    """This process (the web side) publishes to, and keeps its routing wake-up in, the private Redis:
    a Celery app of its own, configured as the project's but for the broker, made current (the
    project's tasks are shared tasks, so they send through the current app)."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": private_redis.url},
    }
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = private_redis.url
    web = Celery("lifemsg", set_as_current=False)
    web.config_from_object("django.conf:settings", namespace="CELERY")  # read when first used
    web.set_current()
    try:
        yield private_redis
    finally:
        celery_app.set_current()
        web.close()


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":  # the test database's file (lifemsg.settings.test)
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker_process(on_private_redis, tmp_path):
    """`celery -A lifemsg worker` as production runs it (prefork pool), logging to a file."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": on_private_redis.url,
        "CELERY_BROKER_URL": on_private_redis.url,
        "CELERY_RESULT_BACKEND": on_private_redis.url,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lifemsg",
        "worker",
        "-c",
        "1",
        "-n",
        f"outage-{os.getpid()}@%h",
    ]
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [*command, "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker.log = log
    try:
        assert wait_for(lambda: " ready." in log.read_text(), timeout=60), log.read_text()[-3000:]
        yield worker
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGQUIT)  # cold shutdown: nothing of it is needed any more
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)


def _write(case, body: str) -> Message:
    """A citizen writes, as the portal's form does: stored, routing asked for on commit."""
    with transaction.atomic():
        return citizen_message_send(case=case, citizen_user=case.citizen.user, body=body)


def _routed_to_group(message: Message, group) -> bool:
    return Delivery.objects.filter(message=message, mailbox=group).exists()


def test_worker_holding_an_unacknowledged_routing_task_survives_redis_restart_and_routes_everything(
    worker_process, on_private_redis, org, settings
):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    group = org.unit_a.group_mailbox
    log = worker_process.log

    # The routing task waits COUNTDOWN seconds in the worker, unacknowledged (acks_late + countdown).
    settings.ROUTING_COALESCE_DELAY = COUNTDOWN
    held = _write(case, "Skrivet innan Redis försvann")
    assert wait_for(
        lambda: "absence.route_message[" in log.read_text() and " received" in log.read_text(), 20
    ), log.read_text()[-3000:]
    assert not _routed_to_group(held, group)

    on_private_redis.stop()
    during = _write(case, "Skrivet medan Redis var borta")  # its publish fails; the message is stored
    time.sleep(3)  # the worker notices and tries to reconnect
    on_private_redis.start()
    back = time.monotonic()

    # Nobody writes: the worker routes both by itself once it has its broker back.
    routed = wait_for(lambda: _routed_to_group(held, group) and _routed_to_group(during, group), timeout=15)
    tail = log.read_text()[-4000:]
    assert worker_process.poll() is None, f"the worker exited ({worker_process.returncode}):\n{tail}"
    assert routed, f"not routed {time.monotonic() - back:.1f} s after Redis returned:\n{tail}"
    assert time.monotonic() - back < 15

    # And new messages are routed as before.
    settings.ROUTING_COALESCE_DELAY = 0.2
    after = _write(case, "Skrivet när Redis var tillbaka")
    assert wait_for(lambda: _routed_to_group(after, group), timeout=10), log.read_text()[-4000:]
    assert all(Delivery.objects.filter(message=m, mailbox=group).count() == 1 for m in (held, during, after))
