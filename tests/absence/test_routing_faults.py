"""Routing through a real Celery worker when the moment of routing is not the moment of writing:
the worker down across an absence's start or end, and a sick call while a routing run is under way
(guarantee 8)."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, transaction
from django.utils import timezone

from absence import routing
from absence.models import AutoReply
from absence.routing import routing_wakeup_clear
from absence.services import absence_end, absence_start
from eservices.services import citizen_message_send
from lifemsg.celery import app as celery_app
from mailboxes.models import Delivery, Message, Unit
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.absence.helpers import mailboxes_of, planned, sick_leave
from tests.conftest import celery_worker_running, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_worker_yet(transactional_db):
    """The broker holds no task from an earlier test, and no wake-up stands for one: the tasks queued
    from here on wait until the test starts its worker."""
    celery_app.control.purge()
    routing_wakeup_clear()


def _send(case, body="Hej! Jag behöver hjälp.") -> Message:
    with transaction.atomic():
        return citizen_message_send(case=case, citizen_user=case.citizen.user, body=body)


def _routed(message: Message) -> bool:
    return Message.objects.filter(pk=message.pk, routed_at__isnull=False).exists()


def test_message_written_during_an_absence_and_routed_after_its_end_reaches_the_group(no_worker_yet, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    absence = sick_leave(org.handler_a1, actor=org.admin)
    message = _send(case)  # the worker is down: its routing task waits in the broker
    absence_end(absence=absence, actor=org.admin)  # the handler is back before the worker

    with celery_worker_running():
        assert wait_for(lambda: _routed(message), timeout=15)

    personal, group = mailbox_personal_for(org.handler_a1), org.unit_a.group_mailbox
    assert mailboxes_of(message) == {personal.pk, group.pk}
    copy = Delivery.objects.get(message=message, mailbox=group)
    assert copy.reason == Delivery.Reason.FORWARDED_ABSENCE and copy.forwarded_for == org.handler_a1
    # The handler is back when the message is routed: no "away" reply, which would no longer be true.
    assert not AutoReply.objects.filter(thread=case.thread).exists()


def test_message_written_before_an_absence_and_routed_during_it_reaches_the_group(no_worker_yet, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = _send(case)  # the worker is down: its routing task waits in the broker
    sick_leave(org.handler_a1, actor=org.admin)  # nothing to forward yet: the message is in no mailbox

    with celery_worker_running():
        assert wait_for(lambda: _routed(message), timeout=15)
        assert wait_for(lambda: AutoReply.objects.filter(thread=case.thread).count() == 1)

    group = org.unit_a.group_mailbox
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_a1).pk, group.pk}
    assert Delivery.objects.get(message=message, mailbox=group).forwarded_for == org.handler_a1


def _waiting_for_a_lock(thread_backend: list[int]) -> bool:
    if not thread_backend:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
            [thread_backend[0]],
        )
        return cursor.fetchone()[0] > 0


def _sick_call(person, org) -> None:
    sick_leave(person, actor=org.admin)


def _planned_start_by_the_clock(absence_id: int, starts_at) -> None:
    absence_start(absence_id=absence_id, now=starts_at + timedelta(seconds=1))  # as absence.tick does


STARTS = ["sick call", "planned absence starting by the clock", "sick call of the deputy"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.parametrize("start", STARTS)
def test_an_absence_starting_in_the_middle_of_a_routing_run_leaves_nothing_only_with_the_absent(
    live_celery_worker, org, monkeypatch, start
):
    """The worker's routing run has read who is away and is about to store the deliveries when an
    absence starts: the handler's sick call, a planned absence of theirs whose time has come, or the
    sick call of the deputy the away handler forwards to. The message must reach the group mailbox
    without waiting for a sweep (none runs here)."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    expected = {mailbox_personal_for(org.handler_a1).pk, org.unit_a.group_mailbox.pk}
    if start == "sick call":
        begin = partial(_sick_call, org.handler_a1, org)
    elif start == "sick call of the deputy":
        Unit.objects.filter(pk=org.unit_a.pk).update(allows_deputy_forwarding=True)
        deputy = mailbox_personal_for(org.handler_a2)
        sick_leave(org.handler_a1, actor=org.admin, forward_to=deputy)
        expected.add(deputy.pk)
        begin = partial(_sick_call, org.handler_a2, org)
    else:
        starts_at = timezone.now() + timedelta(hours=1)
        absence = planned(org.handler_a1, starts_at=starts_at, ends_at=starts_at + timedelta(days=1))
        begin = partial(_planned_start_by_the_clock, absence.pk, starts_at)
    reached, go = threading.Event(), threading.Event()
    real = routing.deliveries_create_many

    def held_open(*, plans_by_message):
        if not reached.is_set():  # the worker's routing run: wait here, between plan and insert
            reached.set()
            go.wait(timeout=30)
        return real(plans_by_message=plans_by_message)

    monkeypatch.setattr(routing, "deliveries_create_many", held_open)
    message = _send(case)
    assert reached.wait(timeout=15)

    backend: list[int] = []
    errors: list[BaseException] = []

    def absence_starts() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend.append(cursor.fetchone()[0])
            begin()
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    caller = threading.Thread(target=absence_starts)
    caller.start()
    # Either the start is done (no lock shared with routing), or it waits for the routing run.
    assert wait_for(lambda: not caller.is_alive() or _waiting_for_a_lock(backend), timeout=15)
    go.set()
    caller.join(timeout=30)
    assert not caller.is_alive() and errors == []

    assert wait_for(lambda: _routed(message), timeout=15)
    group = org.unit_a.group_mailbox
    assert wait_for(lambda: Delivery.objects.filter(message=message, mailbox=group).exists(), timeout=5)
    assert mailboxes_of(message) == expected
    assert Delivery.objects.filter(message=message, mailbox=group).count() == 1
