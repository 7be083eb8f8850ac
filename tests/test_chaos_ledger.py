"""The chaos run's checks (bench.chaos.ledger) see the failures they count: a message left only with
an absent handler, one written during an absence and routed after it, a second out-of-office reply,
a lost and a duplicated message. (A check that always says 0 would make `make chaos` pass blind.)"""

import time
from datetime import timedelta

import pytest

from absence.models import Absence, AutoReply
from absence.routing import route_message
from bench.chaos import ledger
from bench.chaos.citizens import BODY, Post
from mailboxes.models import Delivery, Message
from mailboxes.services import DeliveryPlan, deliveries_create_many, mailbox_personal_for, message_store
from tests import factories
from tests.absence.helpers import citizen_writes

# make chaos runs on PostgreSQL servers of its own; the ledger counts in their SQL (= ANY, SELECT FROM).
pytestmark = pytest.mark.postgres_only(reason="bench.chaos.ledger's SQL is PostgreSQL's (make chaos)")


def setup_case():
    org = factories.Organisation.build()
    return org, factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)


def away(org, **times):
    return Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        forward_to=org.unit_a.group_mailbox,
        set_by=org.handler_a1,
        **times,
    )


def test_a_message_left_only_with_its_absent_handler_is_counted_until_forwarded(db):
    org, case = setup_case()
    message = citizen_writes(case, BODY.format(token="0123456789abcdef"))  # the handler is at work
    assert ledger.only_with_absent([message.pk]) == 0
    away(org, starts_at=message.created_at - timedelta(minutes=1))  # ... was away after all
    assert ledger.only_with_absent([message.pk]) == 1
    assert ledger.undelivered([message.pk]) == []

    plan = DeliveryPlan(
        mailbox_id=org.unit_a.group_mailbox.pk,
        reason=Delivery.Reason.FORWARDED_ABSENCE,
        forwarded_for_id=org.handler_a1.pk,
        forwarded_from_mailbox_id=mailbox_personal_for(org.handler_a1).pk,
    )
    deliveries_create_many(plans_by_message={message.pk: [plan]})
    assert ledger.only_with_absent([message.pk]) == 0
    assert ledger.exercised([message.pk], 0, time.time() + 1) == (1, 0)


def test_written_during_an_absence_and_routed_after_its_end_is_counted(db):
    org, case = setup_case()
    message = citizen_writes(case, route=False)
    away(
        org,
        starts_at=message.created_at - timedelta(minutes=1),
        ends_at=message.created_at + timedelta(seconds=1),
    )
    Message.objects.filter(pk=message.pk).update(routed_at=message.created_at + timedelta(milliseconds=500))
    assert ledger.written_away_routed_after_end([message.pk]) == 0
    Message.objects.filter(pk=message.pk).update(routed_at=message.created_at + timedelta(seconds=2))
    assert ledger.written_away_routed_after_end([message.pk]) == 1


def test_a_second_out_of_office_reply_in_a_thread_is_counted(db):
    org, case = setup_case()
    start = time.time()
    absence = away(org, starts_at=case.thread.created_at)
    message = citizen_writes(case, route=False)
    replies = [
        message_store(thread=case.thread, sender=None, body="Borta", kind=Message.Kind.AUTOMATIC)
        for _ in range(2)
    ]
    AutoReply.objects.create(absence=absence, thread=case.thread, message=replies[0], in_reply_to=message)
    assert ledger.double_auto_replies(start - 1, time.time() + 1) == 1
    assert ledger.exercised([message.pk], start - 1, time.time() + 1) == (0, 2)
    replies[1].delete()
    assert ledger.double_auto_replies(start - 1, time.time() + 1) == 0


def test_lost_and_duplicated_messages_are_counted(db):
    org, case = setup_case()
    since = ledger.max_message_id()
    now = time.time()
    for _ in range(2):  # stored twice
        route_message(message_id=citizen_writes(case, BODY.format(token="aaaaaaaaaaaaaaaa"), route=False).pk)
    posts = [
        Post("f", "aaaaaaaaaaaaaaaa", now, 302, True),
        Post("f", "bbbbbbbbbbbbbbbb", now, 302, True),  # accepted, never stored
        Post("f", "cccccccccccccccc", now, 503, False),  # refused: not lost
    ]
    figures = ledger.count(posts, since, start=now - 1, end=time.time() + 1, routed_from=now)
    assert (figures.sent, figures.accepted, figures.stored) == (3, 2, 2)
    assert (figures.lost, figures.duplicated, figures.unrouted) == (1, 1, 0)
    assert ledger.final_lost({"f": posts}, since) == {"f": 1}
