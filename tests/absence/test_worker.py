"""Routing and absences through a real Celery worker on Redis (guarantees 1–3 end to end)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from celery.exceptions import Ignore
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from absence import hooks
from absence.models import Absence, AutoReply
from absence.routing import routing_wakeup_clear
from absence.services import absence_start
from absence.tasks import route_message_task, sweep, tick
from eservices.services import citizen_message_send
from lifemsg.celery import app as celery_app
from mailboxes.models import Delivery, MailboxThread, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.absence.helpers import citizen_writes, planned, sick_leave
from tests.conftest import wait_for

# Transactional (the worker reads what the test commits). No serialized_rollback: the suite's
# autouse fixture recreates the migrations' data (tests/conftest.py), and a serialized restore after
# another transactional test's flush collides with the content types that flush recreated.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _root_log_level_kept():
    """celery's start_worker sets the root logger to ERROR (app.log.setup); put it back so later
    tests' caplog still sees warnings."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def _send(case, body="Hej! Jag behöver hjälp.") -> Message:
    with transaction.atomic():
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=body)
    return message


def test_citizen_message_to_handler_on_sick_leave_lands_in_group_mailbox_within_seconds(
    live_celery_worker, org
):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    group = org.unit_a.group_mailbox
    personal = mailbox_personal_for(org.handler_a1)

    started = time.monotonic()
    message = _send(case)
    assert wait_for(lambda: Delivery.objects.filter(message=message, mailbox=group).exists(), timeout=10)
    assert time.monotonic() - started < 10
    copy = Delivery.objects.get(message=message, mailbox=group)
    original = Delivery.objects.get(message=message, mailbox=personal)
    assert copy.reason == Delivery.Reason.FORWARDED_ABSENCE and copy.forwarded_for == org.handler_a1
    assert original.read_at is None and original.away_forwarded_at is not None  # visible, marked
    assert MailboxThread.objects.get(mailbox=group, thread=case.thread).forwarded_for_name == "Anna Andersson"
    assert wait_for(lambda: AutoReply.objects.filter(thread=case.thread).count() == 1)


def test_planned_absence_starts_and_ends_by_itself_through_the_worker(live_celery_worker, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    unread = citizen_writes(case, "Oläst före frånvaron")
    now = timezone.now()
    absence = planned(org.handler_a1, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=8))
    group = org.unit_a.group_mailbox

    assert tick.delay(now=(now + timedelta(minutes=30)).isoformat()).get(timeout=20) == {
        "started": 0,
        "finished": 0,
    }
    assert not Delivery.objects.filter(message=unread, mailbox=group).exists()

    result = tick.delay(now=(now + timedelta(hours=1, minutes=1)).isoformat()).get(timeout=20)
    assert result["started"] == 1
    assert Delivery.objects.filter(message=unread, mailbox=group).count() == 1  # unread at start: once

    # A second tick (beat fires every 30 s) forwards nothing again.
    tick.delay(now=(now + timedelta(hours=1, minutes=2)).isoformat()).get(timeout=20)
    assert Delivery.objects.filter(message=unread, mailbox=group).count() == 1

    result = tick.delay(now=(now + timedelta(hours=8, minutes=1)).isoformat()).get(timeout=20)
    assert result["finished"] == 1
    absence.refresh_from_db()
    assert absence.end_processed_at is not None
    # Nothing moved back: the forwarded copy is still in the group mailbox.
    assert Delivery.objects.filter(message=unread, mailbox=group, read_at__isnull=True).exists()


def test_starting_twice_at_once_forwards_once(live_celery_worker, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    messages = [citizen_writes(case, f"Meddelande {i}") for i in range(5)]
    now = timezone.now()
    absence = Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.PLANNED,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=1),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.handler_a1,
    )
    # The beat's tick in the worker and a second start in this process race for the same absence.
    worker_result = tick.delay()

    def start_here() -> None:
        try:
            absence_start(absence_id=absence.pk)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=start_here)
    thread.start()
    thread.join(timeout=20)
    worker_result.get(timeout=20)
    group = org.unit_a.group_mailbox
    for message in messages:
        assert Delivery.objects.filter(message=message, mailbox=group).count() == 1
    assert Delivery.objects.filter(mailbox=group).count() == 5
    assert MailboxThread.objects.get(mailbox=group, thread=case.thread).unread_count == 5


def test_routing_task_dropped_mid_way_is_delivered_by_the_sweep_exactly_once(
    live_celery_worker, org, monkeypatch
):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    attempts = []

    def crash_after_deliveries(*, routed):
        # Deliveries are written but not committed; the task is then dropped (no retry).
        attempts.append(sum(len(deliveries) for _message, deliveries in routed))
        raise Ignore

    monkeypatch.setattr(hooks, "AFTER_ROUTING", [crash_after_deliveries, *hooks.AFTER_ROUTING])
    message = _send(case)
    assert wait_for(lambda: attempts == [2], timeout=10)
    time.sleep(0.5)
    assert not Delivery.objects.filter(message=message).exists()  # rolled back
    message.refresh_from_db()
    assert message.routed_at is None
    monkeypatch.undo()

    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert sweep.delay(now=later).get(timeout=20)["routed"] == 1
    assert sweep.delay(now=later).get(timeout=20)["routed"] == 0
    # The lost task redelivered late (acks_late) adds nothing.
    late = route_message_task.apply_async(kwargs={"message_id": message.pk}, ignore_result=False)
    assert late.get(timeout=20) == 0
    assert Delivery.objects.filter(message=message).count() == 2
    assert Delivery.objects.filter(message=message, mailbox=org.unit_a.group_mailbox).count() == 1
    assert AutoReply.objects.filter(thread=case.thread).count() == 1


# --- a worker process killed with SIGKILL in the middle of routing -----------------------------------


def _conninfo() -> str:
    s = connection.settings_dict
    parts = {"dbname": s["NAME"], "user": s["USER"], "host": s["HOST"], "port": s["PORT"]}
    if s.get("PASSWORD"):
        parts["password"] = s["PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker_process(name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lifemsg",
            "worker",
            "-P",
            "solo",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _blocked_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%%mailboxthread%%' AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_worker_killed_in_the_middle_of_routing_the_sweep_delivers_exactly_once(transactional_db, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    citizen_writes(case, "Första")  # creates the group mailbox's summary row for this thread
    group = org.unit_a.group_mailbox
    summary = MailboxThread.objects.get(mailbox=group, thread=case.thread)
    celery_app.control.purge()
    routing_wakeup_clear()  # the purged task's wake-up would stand for the next message
    name = f"killme-{os.getpid()}@localhost"
    worker = _start_worker_process(name)
    blocker = psycopg.connect(_conninfo())
    try:
        assert wait_for(lambda: bool(celery_app.control.ping(destination=[name], timeout=0.5)), timeout=60)
        # Hold the summary row: the worker's routing will insert the deliveries, then wait here.
        blocker.execute("SELECT id FROM mailboxes_mailboxthread WHERE id = %s FOR UPDATE", [summary.pk])
        message = _send(case, "Andra")
        assert wait_for(lambda: bool(_blocked_backends()), timeout=20)
        (backend,) = _blocked_backends()
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies mid-routing
        worker.wait(timeout=10)
        blocker.rollback()
        # PostgreSQL rolls back the dead worker's transaction when its backend goes.
        assert wait_for(lambda: not _backend_alive(backend), timeout=20)
    finally:
        blocker.close()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)

    assert not Delivery.objects.filter(message=message).exists()
    message.refresh_from_db()
    assert message.routed_at is None

    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert sweep(now=later)["routed"] == 1
    assert sweep(now=later)["routed"] == 0
    assert route_message_task.apply(kwargs={"message_id": message.pk}).get() == 0  # late redelivery
    assert Delivery.objects.filter(message=message, mailbox=group).count() == 1
    assert Delivery.objects.filter(message=message).count() == 2
    summary.refresh_from_db()
    assert summary.message_count == 2 and summary.unread_count == 2
