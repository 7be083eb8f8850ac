"""The out-of-office reply to citizens: once per thread per absence, automatic, no case data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from absence.models import AutoReply
from absence.routing import route_message
from absence.services import absence_end
from mailboxes.models import Delivery, Message
from mailboxes.services import message_store
from tests import factories
from tests.absence.helpers import citizen_writes, internal_message, planned, sick_leave

pytestmark = pytest.mark.django_db


def _automatic(thread):
    return list(Message.objects.filter(thread=thread, kind=Message.Kind.AUTOMATIC).order_by("id"))


def test_citizen_gets_one_automatic_reply_per_thread_per_absence(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    citizen_writes(case, "Första")
    citizen_writes(case, "Andra")
    citizen_writes(case, "Tredje")

    replies = _automatic(case.thread)
    assert len(replies) == 1
    reply = replies[0]
    assert reply.sender is None
    assert reply.body.startswith("Det här är ett automatiskt svar.")
    assert "kollegor" in reply.body
    assert reply.routed_at is not None
    # The automatic reply reaches nobody's inbox and is not itself answered.
    assert not Delivery.objects.filter(message=reply).exists()


def test_a_new_absence_gets_a_new_reply_in_the_same_thread(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    first = sick_leave(org.handler_a1, actor=org.admin)
    citizen_writes(case)
    absence_end(absence=first, actor=org.admin)
    citizen_writes(case, "Handläggaren är tillbaka")
    assert len(_automatic(case.thread)) == 1
    sick_leave(org.handler_a1, actor=org.admin)
    citizen_writes(case, "Borta igen")
    assert len(_automatic(case.thread)) == 2
    assert AutoReply.objects.filter(thread=case.thread).count() == 2


def test_each_thread_gets_its_own_reply(org):
    first = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    second = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1)
    citizen_writes(first)
    citizen_writes(second)
    assert len(_automatic(first.thread)) == len(_automatic(second.thread)) == 1


def test_reply_carries_no_case_data_reason_or_date_unless_chosen(org):
    citizen = factories.citizen("Stina", "Hemligsson")
    case = factories.case(
        citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Skuldsanering"
    )
    now = timezone.now()
    planned(
        org.handler_a1,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=3),
        reason="Operation",
        message_to_colleagues="Ring Bo vid brådskande ärenden",
    )
    citizen_writes(case, "Mitt kontonummer är 1234-567")

    body = _automatic(case.thread)[0].body
    for secret in (
        case.reference,
        "Skuldsanering",
        "Stina",
        "Hemligsson",
        citizen.personnummer,
        "1234-567",
        "Operation",
        "Ring Bo",
        "Anna",
        "Andersson",
    ):
        assert secret not in body, secret
    assert "till och med" not in body  # no return date: the handler did not choose to show it


def test_return_date_is_shown_when_the_handler_chose_it(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    now = timezone.now()
    from absence.timeutil import end_of

    last_day = timezone.localdate(now) + timedelta(days=4)
    planned(
        org.handler_a1,
        starts_at=now - timedelta(minutes=1),
        ends_at=end_of(last_day),
        show_return_date_to_citizens=True,
        message_to_citizens="Jag är på kurs.",
    )
    citizen_writes(case)
    body = _automatic(case.thread)[0].body
    assert "Jag är på kurs." in body
    assert f"till och med {last_day.day} " in body


def test_no_reply_when_the_handler_is_present_or_the_case_unassigned(org):
    assigned = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    unassigned = factories.case(eservice_obj=org.eservice_a)
    citizen_writes(assigned)
    citizen_writes(unassigned)
    assert not Message.objects.filter(kind=Message.Kind.AUTOMATIC).exists()


def test_never_in_reply_to_an_automatic_message_or_to_staff(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1)
    automatic = message_store(thread=case.thread, sender=None, body="System", kind=Message.Kind.AUTOMATIC)
    route_message(message_id=automatic.pk)
    internal_message(org.handler_b1, [org.handler_a1])
    assert [m.pk for m in _automatic(case.thread)] == [automatic.pk]
    assert not AutoReply.objects.exists()
