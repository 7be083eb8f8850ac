"""The sick-day gap (issue 24): citizen mail unread for more than N working days in the personal
mailbox of someone who has not logged in, and has no registered absence, is reported to the unit
manager without content, with a link to the sick-call form for that handler."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from absence.models import UnregisteredAbsenceAlert
from absence.services import absence_create
from absence.tasks import alert_unregistered_absence
from absence.unregistered import is_working_day, overdue_arrival_cutoff
from mailboxes.models import Delivery, Mailbox
from tests import factories
from tests.absence.helpers import citizen_writes

pytestmark = pytest.mark.django_db


def _local(y, m, d, hour=10) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=timezone.get_current_timezone())


def _run(when: dt.datetime) -> int:
    return alert_unregistered_absence(now=when.isoformat())


@pytest.fixture
def unread(org):
    """A citizen message in handler_a1's personal mailbox; the manager has an e-mail address; the
    handler last logged in before it came."""
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Känsligt ämne")
    message = citizen_writes(case, "Hemlig text om skulder")

    def arrived(when: dt.datetime):
        Delivery.objects.filter(message=message).update(created_at=when)
        org.handler_a1.last_login = when - dt.timedelta(days=3)
        org.handler_a1.save(update_fields=["last_login"])
        return message

    return arrived


def test_working_days_skip_weekends_public_and_de_facto_holidays():
    assert is_working_day(dt.date(2026, 12, 23))
    for day in (24, 25, 26, 31):  # julafton, juldagen, annandag jul (a Saturday), nyårsafton
        assert not is_working_day(dt.date(2026, 12, day))
    assert not is_working_day(dt.date(2026, 6, 19))  # midsommarafton
    assert not is_working_day(dt.date(2026, 6, 6))  # nationaldagen
    assert not is_working_day(dt.date(2026, 3, 7))  # a Saturday
    # More than 2 working days before Tuesday 29 December: Wed 23, Mon 28, Tue 29.
    assert overdue_arrival_cutoff(dt.date(2026, 12, 29), 2) == dt.date(2026, 12, 22)


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_manager_is_told_after_more_than_n_working_days_without_content(org, unread):
    unread(_local(2026, 3, 2))  # a Monday
    assert _run(_local(2026, 3, 4, 15)) == 0  # Tue, Wed: two working days, not more
    assert mail.outbox == []
    assert _run(_local(2026, 3, 5, 9)) == 1  # Thursday
    [sent] = mail.outbox
    assert "chef@example.invalid" in sent.to
    assert "Anna Andersson" in sent.subject
    assert "Hemlig text" not in sent.body and "Känsligt ämne" not in sent.body
    assert f"{reverse('absence:sick_call')}?handler={org.handler_a1.pk}" in sent.body
    assert UnregisteredAbsenceAlert.objects.get().owner == org.handler_a1
    # Once per message.
    assert _run(_local(2026, 3, 6, 9)) == 0
    assert len(mail.outbox) == 1


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_christmas_days_do_not_count(org, unread):
    unread(_local(2026, 12, 22))  # Tuesday before julafton
    assert _run(_local(2026, 12, 28, 16)) == 0  # Wed 23 and Mon 28 only
    assert _run(_local(2026, 12, 29, 8)) == 1


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_midsummer_eve_does_not_count(org, unread):
    unread(_local(2026, 6, 17))  # Wednesday before midsommarafton
    assert _run(_local(2026, 6, 22, 16)) == 0  # Thu 18 and Mon 22 only
    assert _run(_local(2026, 6, 23, 8)) == 1


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_an_owner_who_logged_in_since_is_not_reported(org, unread):
    unread(_local(2026, 3, 2))
    org.handler_a1.last_login = _local(2026, 3, 3)
    org.handler_a1.save(update_fields=["last_login"])
    assert _run(_local(2026, 3, 5, 9)) == 0
    assert mail.outbox == []


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_an_owner_with_a_registered_absence_is_not_reported(org, unread):
    unread(_local(2026, 3, 2))
    when = _local(2026, 3, 5, 9)
    absence_create(
        handler=org.handler_a1,
        actor=org.sysadmin,
        kind="unplanned",
        starts_at=when - dt.timedelta(hours=1),
        ends_at=None,
        forward_to=Mailbox.objects.get(unit=org.unit_a),
        reason="sjuk",
        now=when - dt.timedelta(hours=1),
    )
    assert _run(when) == 0


@override_settings(UNREGISTERED_ABSENCE_WORKING_DAYS=2)
def test_read_messages_are_not_reported(org, unread):
    message = unread(_local(2026, 3, 2))
    Delivery.objects.filter(message=message).update(read_at=_local(2026, 3, 2, 11))
    assert _run(_local(2026, 3, 5, 9)) == 0


def test_the_alert_runs_on_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "absence.alert_unregistered_absence" in tasks
