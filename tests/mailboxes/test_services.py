"""Service-level behaviour of deliveries, summaries and the work states (take, handled, forward)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from absence.models import Absence
from eservices.services import citizen_message_send
from mailboxes.models import Delivery, MailboxThread, Message
from mailboxes.services import (
    DeliveryPlan,
    deliveries_create,
    deliveries_mark_read,
    message_store,
    thread_create,
    thread_forward,
    thread_mark_handled,
    thread_release,
    thread_reopen,
    thread_take,
)
from tests import factories
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal


def summary(mailbox, thread) -> MailboxThread:
    return MailboxThread.objects.get(mailbox=mailbox, thread=thread)


def away(user, *, forward_to, set_by=None) -> Absence:
    return Absence.objects.create(
        handler=user,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(hours=1),
        forward_to=forward_to,
        set_by=set_by or user,
        message_to_colleagues="Sjuk, åter okänt.",
    )


# --- uniqueness under concurrency ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_message_to_one_mailbox_make_one_row():
    unit = factories.unit()
    sender = factories.staff(units=(unit,))
    message = message_store(thread=thread_create(subject="Samtidigt"), sender=sender, body="Hej")
    box = group(unit)
    barrier = threading.Barrier(2)
    created: list[int] = []
    errors: list[BaseException] = []

    def deliver():
        try:
            barrier.wait(timeout=5)
            created.append(len(deliveries_create(message=message, plans=[DeliveryPlan(mailbox_id=box.pk)])))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    workers = [threading.Thread(target=deliver) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    assert not errors
    assert sorted(created) == [0, 1]
    assert Delivery.objects.filter(message=message, mailbox=box).count() == 1
    row = summary(box, message.thread)
    assert (row.message_count, row.unread_count) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_row_even_past_the_service_lock():
    """The unique constraint holds on its own: a second insert racing the first, on another
    connection, waits for it and then fails."""
    unit = factories.unit()
    sender = factories.staff(units=(unit,))
    message = message_store(thread=thread_create(subject="Samtidigt"), sender=sender, body="Hej")
    box = group(unit)
    first_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def insert(name: str, wait_before_commit: float):
        try:
            with transaction.atomic():
                Delivery.objects.create(message=message, mailbox=box, thread=message.thread)
                first_inserted.set()
                time.sleep(wait_before_commit)
            outcome[name] = "ok"
        except IntegrityError as exc:
            outcome[name] = exc
        finally:
            connection.close()

    one = threading.Thread(target=insert, args=("one", 0.5))
    one.start()
    assert first_inserted.wait(5)
    two = threading.Thread(target=insert, args=("two", 0))
    two.start()
    one.join(10)
    two.join(10)
    assert outcome["one"] == "ok"
    assert isinstance(outcome["two"], IntegrityError)
    assert Delivery.objects.filter(message=message, mailbox=box).count() == 1


# --- read state and summaries --------------------------------------------------------------------


@pytest.mark.django_db
def test_marking_read_updates_the_summary_unread_count(org):
    inbox = personal(org.handler_a1)
    first = internal_thread(org.handler_a2, [inbox], body="Första")
    internal_thread(org.handler_b1, [inbox], subject="Annat", body="Annan tråd")
    message_store(
        thread=first.thread, sender=org.handler_a2, body="Andra", recipients=[inbox]
    )  # stored but not yet routed: not in the mailbox
    from absence.routing import route_message

    route_message(message_id=Message.objects.latest("id").pk)
    assert summary(inbox, first.thread).unread_count == 2

    changed = deliveries_mark_read(mailbox=inbox, thread=first.thread, user=org.handler_a1)

    assert changed == 2
    assert summary(inbox, first.thread).unread_count == 0
    assert not Delivery.objects.filter(mailbox=inbox, thread=first.thread, read_at__isnull=True).exists()
    assert set(
        Delivery.objects.filter(mailbox=inbox, thread=first.thread).values_list("read_by", flat=True)
    ) == {org.handler_a1.pk}
    # The other thread is untouched.
    assert MailboxThread.objects.get(mailbox=inbox, thread__subject="Annat").unread_count == 1


@pytest.mark.django_db
def test_summary_names_the_counterpart_on_each_side(org):
    message = internal_thread(org.handler_a1, [personal(org.handler_a2), group(org.unit_b)])
    assert summary(personal(org.handler_a2), message.thread).counterpart_name == "Anna Andersson"
    assert summary(group(org.unit_b), message.thread).counterpart_name == "Anna Andersson"
    own = summary(personal(org.handler_a1), message.thread)
    assert own.counterpart_name == "Bo Berg, IFO Testenhet B"
    assert own.unread_count == 0  # the sender's copy is read


# --- take / handled, mirrored onto the absent handler's copy ------------------------------------


@pytest.fixture
def forwarded_case(org):
    """handler_a1 is away with forwarding to unit A's group mailbox; the citizen writes."""
    away(org.handler_a1, forward_to=group(org.unit_a), set_by=org.admin)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case)
    return case


@pytest.mark.django_db
def test_taking_and_handling_in_the_group_mailbox_shows_on_the_absent_handlers_copy(org, forwarded_case):
    thread = forwarded_case.thread
    gbox, own = group(org.unit_a), personal(org.handler_a1)
    assert summary(gbox, thread).forwarded_for_name == "Anna Andersson"

    thread_take(mailbox=gbox, thread=thread, user=org.handler_a2)
    for box in (gbox, own):
        assert summary(box, thread).taken_by == org.handler_a2
    assert Delivery.objects.get(mailbox=own, thread=thread).taken_by == org.handler_a2

    thread_mark_handled(mailbox=gbox, thread=thread, user=org.handler_a2)
    for box in (gbox, own):
        row = summary(box, thread)
        assert row.handled_by == org.handler_a2 and row.handled_at is not None
    original = Delivery.objects.get(mailbox=own, thread=thread)
    assert original.handled_by == org.handler_a2
    # Handling is not reading: the absent handler still sees it as new when back.
    assert original.read_at is None


@pytest.mark.django_db
def test_a_new_unread_message_reopens_a_handled_thread_everywhere(org, forwarded_case):
    thread = forwarded_case.thread
    gbox, own = group(org.unit_a), personal(org.handler_a1)
    thread_mark_handled(mailbox=gbox, thread=thread, user=org.handler_a2)

    citizen_writes(forwarded_case, body="Jag har en följdfråga.")

    for box in (gbox, own):
        row = summary(box, thread)
        assert row.handled_by is None and row.handled_at is None
        assert row.unread_count == 2


@pytest.mark.django_db
def test_release_undoes_only_ones_own_take_and_reopen_undoes_handled(org, forwarded_case):
    thread = forwarded_case.thread
    gbox = group(org.unit_a)
    thread_take(mailbox=gbox, thread=thread, user=org.handler_a2)
    thread_release(mailbox=gbox, thread=thread, user=org.manager_a)  # not theirs: nothing changes
    assert summary(gbox, thread).taken_by == org.handler_a2
    thread_release(mailbox=gbox, thread=thread, user=org.handler_a2)
    assert summary(gbox, thread).taken_by is None
    assert summary(personal(org.handler_a1), thread).taken_by is None

    thread_mark_handled(mailbox=gbox, thread=thread, user=org.manager_a)
    thread_reopen(mailbox=gbox, thread=thread, user=org.manager_a)
    assert summary(gbox, thread).handled_by is None
    assert not Delivery.objects.filter(thread=thread, handled_at__isnull=False).exists()


# --- forwarding by hand ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_forwarding_by_hand_puts_the_thread_unread_in_the_group_mailbox_with_the_note(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case)
    own, gbox = personal(org.handler_a1), group(org.unit_a)
    deliveries_mark_read(mailbox=own, thread=case.thread, user=org.handler_a1)

    delivery = thread_forward(
        mailbox=own, thread=case.thread, target=gbox, user=org.handler_a1, note="Kan någon ta denna?"
    )

    assert delivery.reason == Delivery.Reason.FORWARDED_MANUAL
    assert delivery.forward_note == "Kan någon ta denna?"
    assert delivery.forwarded_from.mailbox == own
    row = summary(gbox, case.thread)
    assert (row.unread_count, row.forwarded_by_name) == (1, "Anna Andersson")
    # Twice: the group already holds it, nothing new.
    assert thread_forward(mailbox=own, thread=case.thread, target=gbox, user=org.handler_a1) is None
    # Handling in the group shows on the sender's copy.
    thread_mark_handled(mailbox=gbox, thread=case.thread, user=org.handler_a2)
    assert summary(own, case.thread).handled_by == org.handler_a2


@pytest.mark.django_db
def test_citizen_message_without_handler_goes_to_the_group_mailbox(org):
    case = factories.case(eservice_obj=org.eservice_a)
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    from absence.routing import route_message

    route_message(message_id=message.pk)
    assert summary(group(org.unit_a), case.thread).unread_count == 1


# --- storing a message ----------------------------------------------------------------------------


def test_a_stored_message_is_the_threads_latest_and_an_older_one_does_not_move_it_back(org):
    """message_store writes the row and its thread's last_message_at together (one statement on
    PostgreSQL): every field as given, and the thread's time only ever moves forward."""
    thread = thread_create(subject="Tidsordning")
    later = timezone.now() + timedelta(minutes=5)
    message = message_store(thread=thread, sender=org.handler_a1, body="Senast", created_at=later)
    stored = Message.objects.get(pk=message.pk)
    assert (stored.thread_id, stored.sender_id, stored.body, stored.kind) == (
        thread.pk,
        org.handler_a1.pk,
        "Senast",
        Message.Kind.NORMAL,
    )
    assert stored.created_at == later and stored.routed_at is None and stored.sender_mailbox_id is None
    thread.refresh_from_db()
    assert thread.last_message_at == later
    message_store(
        thread=thread,
        sender=None,
        body="Äldre",
        kind=Message.Kind.AUTOMATIC,
        created_at=later - timedelta(hours=1),
    )
    thread.refresh_from_db()
    assert thread.last_message_at == later
    assert thread.messages.count() == 2
