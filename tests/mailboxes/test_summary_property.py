"""The per-(mailbox, thread) summaries, kept incrementally by every write, always equal what a
recompute from the deliveries alone makes of them (mailboxes.services.summaries)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from absence.models import Absence
from absence.routing import route_message
from absence.services import absence_create
from audit.message_retention import messages_delete_expired
from eservices.services import citizen_message_send
from mailboxes.models import Delivery, MailboxThread, Message, Thread
from mailboxes.services import (
    deliveries_mark_read,
    deliveries_mark_unread,
    internal_reply_store,
    internal_thread_start,
    mailbox_personal_for,
    summaries_recompute,
    summary_mismatches,
    thread_forward,
    thread_mark_handled,
    thread_reopen,
    thread_take,
)
from tests import factories

pytestmark = pytest.mark.django_db

PEOPLE = 3  # handler_a1, handler_a2, handler_b1

step_st = st.one_of(
    st.tuples(st.just("citizen"), st.integers(0, 1)),  # the citizen of case 0 (handled) or 1 (not)
    st.tuples(st.just("internal"), st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE)),  # PEOPLE: group
    st.tuples(st.just("reply"), st.integers(0, PEOPLE - 1), st.booleans()),  # via the group mailbox?
    st.tuples(st.just("read"), st.integers(0, PEOPLE), st.integers(0, 9)),
    st.tuples(st.just("unread"), st.integers(0, PEOPLE), st.integers(0, 9)),
    st.tuples(st.just("forward"), st.integers(0, PEOPLE - 1), st.integers(0, 9)),
    st.tuples(st.just("take_handle"), st.integers(0, PEOPLE), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("sick"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("retention"), st.integers(1, 5)),
)


@pytest.fixture
def world(org):
    people = [org.handler_a1, org.handler_a2, org.handler_b1]
    cases = [
        factories.case(
            eservice_obj=org.eservice_a,
            handler=org.handler_a1,
            citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        ),
        factories.case(eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan")),
    ]
    return org, people, cases


class Run:
    """Plays the steps against the real services, each message routed as the routing task would."""

    def __init__(self, org, people, cases):
        self.org, self.people, self.cases = org, people, cases
        self.mailboxes = [mailbox_personal_for(p) for p in people] + [org.unit_a.group_mailbox]

    def _thread(self, index: int) -> Thread | None:
        threads = list(Thread.objects.order_by("pk"))
        return threads[index % len(threads)] if threads else None

    def citizen(self, case_index: int) -> None:
        case = self.cases[case_index]
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej, en fråga.")
        route_message(message_id=message.pk)

    def internal(self, sender: int, to: int) -> None:
        recipient = self.mailboxes[to] if to != sender else self.mailboxes[-1]
        message = internal_thread_start(
            sender=self.people[sender], recipients=[recipient], subject="Fråga", body=f"Från {sender}"
        )
        route_message(message_id=message.pk)

    def reply(self, sender: int, via_group: bool) -> None:
        thread = Thread.objects.filter(kind=Thread.Kind.INTERNAL).order_by("-pk").first()
        if thread is None:
            return
        via = self.mailboxes[-1] if via_group else self.mailboxes[sender]
        others = [m for m in self.mailboxes[:PEOPLE] if m != self.mailboxes[sender]]
        message = internal_reply_store(
            thread=thread, sender=self.people[sender], via_mailbox=via, recipients=others[:1], body="Svar"
        )
        route_message(message_id=message.pk)

    def read(self, mailbox: int, thread_index: int) -> None:
        thread = self._thread(thread_index)
        if thread is not None:
            user = self.people[mailbox] if mailbox < PEOPLE else self.people[0]
            deliveries_mark_read(mailbox=self.mailboxes[mailbox], thread=thread, user=user)

    def unread(self, mailbox: int, thread_index: int) -> None:
        thread = self._thread(thread_index)
        if thread is not None:
            deliveries_mark_unread(mailbox=self.mailboxes[mailbox], thread=thread)

    def forward(self, person: int, thread_index: int) -> None:
        thread = self._thread(thread_index)
        if thread is not None:
            thread_forward(
                mailbox=self.mailboxes[person],
                thread=thread,
                target=self.org.unit_b.group_mailbox,
                user=self.people[person],
                note="Till er",
            )

    def take_handle(self, mailbox: int, thread_index: int, reopen: bool) -> None:
        thread = self._thread(thread_index)
        if thread is None:
            return
        user = self.people[mailbox] if mailbox < PEOPLE else self.people[1]
        thread_take(mailbox=self.mailboxes[mailbox], thread=thread, user=user)
        thread_mark_handled(mailbox=self.mailboxes[mailbox], thread=thread, user=user)
        if reopen:
            thread_reopen(mailbox=self.mailboxes[mailbox], thread=thread, user=user)

    def sick(self, person: int) -> None:
        handler = self.people[person]
        if Absence.objects.filter(handler=handler).exists():
            return
        home = handler.unit_memberships.first().unit.group_mailbox
        absence_create(
            handler=handler,
            actor=self.org.admin,
            kind=Absence.Kind.UNPLANNED,
            starts_at=None,
            ends_at=None,
            forward_to=home,
        )

    def retention(self, oldest: int) -> None:
        """Everything but the newest messages, from the `oldest`-th oldest on, goes."""
        times = list(Message.objects.order_by("created_at", "pk").values_list("created_at", flat=True))
        if len(times) > oldest:
            messages_delete_expired(cutoff=times[oldest - 1] + timedelta(microseconds=1))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step_st, min_size=1, max_size=12))
def test_summaries_equal_a_recompute_after_any_writes(world, steps):
    org, people, cases = world
    with transaction.atomic():
        run = Run(org, people, cases)
        for step in steps:
            getattr(run, step[0])(*step[1:])
            assert summary_mismatches() == {}, step
        transaction.set_rollback(True)


def test_a_summary_made_wrong_is_found_and_a_recompute_sets_it_right(world):
    """The check can fail: a summary changed behind the services' back is reported, and the
    recompute retention uses puts it back."""
    org, people, cases = world
    run = Run(org, people, cases)
    run.citizen(0)
    run.internal(1, 0)
    assert summary_mismatches() == {}
    row = MailboxThread.objects.get(mailbox=mailbox_personal_for(org.handler_a1), thread=cases[0].thread)
    MailboxThread.objects.filter(pk=row.pk).update(unread_count=5, latest_snippet="fel")
    found = summary_mismatches()
    assert found == {
        (row.mailbox_id, row.thread_id): {"unread_count": (5, 1), "latest_snippet": ("fel", "Hej, en fråga.")}
    }
    with transaction.atomic():
        summaries_recompute(list(MailboxThread.objects.select_for_update().filter(pk=row.pk)))
    assert summary_mismatches() == {}
    assert Delivery.objects.filter(mailbox_id=row.mailbox_id, thread=cases[0].thread).count() == 1
    assert timezone.now() > row.last_activity_at
