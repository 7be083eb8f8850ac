"""Escalation to the unit manager when a group mailbox message stays unread too long, counted in
working days (weekends, Swedish public holidays and the three eves off are not counted)."""

import datetime as dt
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from absence.models import GroupUnreadEscalation
from absence.tasks import escalate_group_unread
from mailboxes.models import Delivery
from mailboxes.services import deliveries_mark_read
from tests import factories
from tests.absence.helpers import citizen_writes

pytestmark = pytest.mark.django_db


def _age(message, days: float) -> None:
    """Arrived `days` working days ago, measured from a Wednesday noon (no holiday in reach)."""
    Delivery.objects.filter(message=message).update(created_at=WEDNESDAY - timedelta(days=days))


WEDNESDAY = dt.datetime(2026, 3, 11, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _local(y, m, d, hour=10, minute=0) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, tzinfo=timezone.get_current_timezone())


def _arrived(message, when: dt.datetime) -> None:
    Delivery.objects.filter(message=message).update(created_at=when)


def _escalate(when: dt.datetime) -> int:
    return escalate_group_unread(now=when.isoformat())


@override_settings(GROUP_UNREAD_ESCALATION_WORKING_DAYS=1)
def test_manager_is_emailed_once_per_message_unread_too_long(org):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    case = factories.case(eservice_obj=org.eservice_a, subject="Känsligt ämne")
    old = citizen_writes(case, "Hemlig text om skulder")
    young = citizen_writes(case, "Nytt")
    _age(old, 1.1)
    _age(young, 0.5)

    assert _escalate(WEDNESDAY) == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["chef@example.invalid"]
    assert org.unit_a.group_mailbox.name in sent.subject
    assert "Hemlig text" not in sent.body and "Känsligt ämne" not in sent.body  # no content
    assert "/franvaro/enhet/" in sent.body
    assert "1 arbetsdag" in sent.body
    assert GroupUnreadEscalation.objects.get().delivery.message == old

    # Once per message: the next run sends nothing for it.
    assert _escalate(WEDNESDAY) == 0
    assert len(mail.outbox) == 1
    # The younger one escalates when its time comes, on its own.
    assert _escalate(WEDNESDAY + timedelta(hours=12)) == 1
    assert len(mail.outbox) == 2


@override_settings(GROUP_UNREAD_ESCALATION_WORKING_DAYS=1)
def test_read_messages_and_other_units_managers_are_left_alone(org):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    other_manager = factories.staff("Enhetschef", units=(org.unit_b,), email="annan@example.invalid")
    case = factories.case(eservice_obj=org.eservice_a)
    read = citizen_writes(case)
    _age(read, 2)
    deliveries_mark_read(mailbox=org.unit_a.group_mailbox, thread=case.thread, user=org.handler_a2)
    assert _escalate(WEDNESDAY) == 0

    unread = citizen_writes(case, "Oläst")
    _age(unread, 2)
    _escalate(WEDNESDAY)
    assert [m.to for m in mail.outbox] == [["chef@example.invalid"]]
    assert other_manager.email not in mail.outbox[0].to


@pytest.mark.parametrize(
    ("arrived", "not_yet", "due"),
    [
        # Wednesday before Christmas: julafton, juldagen and the weekend are not counted.
        (_local(2026, 12, 23, 10), _local(2026, 12, 28, 9, 59), _local(2026, 12, 28, 10)),
        # Between the holidays: nyårsafton, nyårsdagen and the weekend are not counted.
        (_local(2026, 12, 30, 15), _local(2027, 1, 4, 14, 59), _local(2027, 1, 4, 15)),
        # Trettondedag jul (Wednesday 6 January 2027) is a public holiday.
        (_local(2027, 1, 5, 9), _local(2027, 1, 7, 8, 59), _local(2027, 1, 7, 9)),
        # Thursday before midsummer: midsommarafton (a de facto day off) and the weekend.
        (_local(2026, 6, 18, 10), _local(2026, 6, 22, 9, 59), _local(2026, 6, 22, 10)),
        # Arrived on juldagen: the clock starts with the next working day, a whole day of it.
        (_local(2026, 12, 25, 12), _local(2026, 12, 28, 23, 59), _local(2026, 12, 29, 0)),
    ],
)
@override_settings(GROUP_UNREAD_ESCALATION_WORKING_DAYS=1)
def test_escalation_counts_working_days_not_hours(org, arrived, not_yet, due):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    message = citizen_writes(factories.case(eservice_obj=org.eservice_a))
    _arrived(message, arrived)
    assert _escalate(not_yet) == 0
    assert mail.outbox == []
    assert _escalate(due) == 1
    assert len(mail.outbox) == 1


@override_settings(GROUP_UNREAD_ESCALATION_WORKING_DAYS=2)
def test_two_working_days_over_christmas(org):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    message = citizen_writes(factories.case(eservice_obj=org.eservice_a))
    _arrived(message, _local(2026, 12, 22, 16))  # Tuesday: Wed 23, then Mon 28
    assert _escalate(_local(2026, 12, 28, 15, 59)) == 0
    assert _escalate(_local(2026, 12, 28, 16)) == 1
    assert "2 arbetsdagar" in mail.outbox[0].body
