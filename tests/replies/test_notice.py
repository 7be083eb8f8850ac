"""The opt-in daily e-mail of citizen mail waiting unread in one's personal mailbox: counts and a
link only, on working days, once a day however often the task runs, not while away, not when
nothing waits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from replies.models import WaitingMailNotice, WaitingMailSetting
from replies.notice import waiting_mail_setting_set
from replies.tasks import waiting_mail_notices
from tests import factories
from tests.absence.helpers import sick_leave
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, internal_thread, personal

pytestmark = pytest.mark.django_db


def _local(y, m, d, hour=7, minute=30) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, tzinfo=timezone.get_current_timezone())


TUESDAY = _local(2026, 12, 8)


def _run(when: dt.datetime = TUESDAY) -> int:
    return waiting_mail_notices(now=when.isoformat())


@pytest.fixture
def waiting(org):
    """Two citizen messages unread with Anna, who asked for the e-mail; one internal message too."""
    org.handler_a1.email = "anna@example.invalid"
    org.handler_a1.save(update_fields=["email"])
    waiting_mail_setting_set(user=org.handler_a1, daily_email=True)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Skuldsanering")
    citizen_writes(case, "Hemligt innehåll")
    citizen_writes(case, "Mer hemligt")
    internal_thread(org.handler_b1, [personal(org.handler_a1)])
    return case


def test_counts_and_a_link_nothing_else(org, waiting):
    assert _run() == 1
    [sent] = mail.outbox
    assert sent.to == ["anna@example.invalid"]
    assert "2 meddelanden från medborgare väntar olästa i din personliga brevlåda." in sent.body
    assert reverse("mailboxes:mailbox", args=[personal(org.handler_a1).pk]) in sent.body
    for secret in ("Hemligt", "Skuldsanering", waiting.reference, waiting.citizen.last_name, "Greta"):
        assert secret not in sent.body and secret not in sent.subject


def test_never_two_the_same_day_however_often_it_runs(org, waiting):
    assert _run() == 1
    assert _run(TUESDAY + dt.timedelta(hours=3)) == 0
    assert len(mail.outbox) == 1
    assert WaitingMailNotice.objects.get().waiting == 2
    # The next working day brings the next one.
    assert _run(TUESDAY + dt.timedelta(days=1)) == 1


def test_off_unless_chosen(org, waiting):
    waiting_mail_setting_set(user=org.handler_a1, daily_email=False)
    org.handler_a2.email = "bo@example.invalid"
    org.handler_a2.save(update_fields=["email"])
    citizen_writes(factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2))
    assert _run() == 0  # Bo never chose it; Anna switched it off
    assert mail.outbox == []


def test_not_on_holidays_nor_weekends(org, waiting):
    for day in (_local(2026, 12, 24), _local(2026, 12, 25), _local(2026, 12, 26), _local(2027, 1, 6)):
        assert _run(day) == 0
    assert mail.outbox == []
    schedule = settings.CELERY_BEAT_SCHEDULE["replies-waiting-mail"]
    assert schedule["task"] == "replies.waiting_mail_notices"
    assert schedule["schedule"].day_of_week == {1, 2, 3, 4, 5}


def test_not_while_away_nor_with_nothing_waiting(org, waiting):
    absence = sick_leave(org.handler_a1, actor=org.admin, now=TUESDAY - dt.timedelta(days=1))
    assert absence.pk
    assert _run() == 0
    # Bo chose it but nothing waits for him.
    org.handler_a2.email = "bo@example.invalid"
    org.handler_a2.save(update_fields=["email"])
    waiting_mail_setting_set(user=org.handler_a2, daily_email=True)
    assert _run() == 0
    assert mail.outbox == []


def test_the_settings_page_switches_it_on_and_off(client, org):
    login(client, org.handler_a1)
    page = client.get(reverse("replies:notice_settings"))
    assert page.status_code == 200
    assert "Mejla mig på arbetsdagar" in page.text
    assert client.post(reverse("replies:notice_settings"), {"daily_email": "on"}).status_code == 302
    assert WaitingMailSetting.objects.get(user=org.handler_a1).daily_email is True
    client.post(reverse("replies:notice_settings"), {})
    assert WaitingMailSetting.objects.get(user=org.handler_a1).daily_email is False
