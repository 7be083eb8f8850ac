"""Every action on citizen data is in the access log with the same fields as a read (issue 24): who,
which citizen, which case, which unit, which thread, and what was done; the reviewer filters by it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessLogEntry
from eservices.services import case_assign
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group

pytestmark = pytest.mark.django_db

Action = AccessLogEntry.Action


@pytest.fixture
def case(org):
    case = factories.case(
        eservice_obj=org.eservice_a,
        citizen_obj=factories.citizen("Greta", "Medborgarsson", number="198001019812"),
        subject="Fråga om beslut",
    )
    citizen_writes(case, body="Hej, jag undrar över beslutet.")
    return case


def _entry(action, user):
    entries = list(AccessLogEntry.objects.filter(action=action, user=user))
    assert len(entries) == 1, f"expected one {action} entry by {user}, got {len(entries)}"
    return entries[0]


def _assert_names_citizen_and_case(entry, case):
    assert entry.citizen_id == case.citizen.user_id
    assert entry.case_id == case.pk
    assert entry.thread_id == case.thread_id
    assert entry.unit_id == case.unit_id


def _thread_url(name, org, case):
    return reverse(f"mailboxes:{name}", args=[group(org.unit_a).pk, case.thread_id])


def test_a_reply_to_the_citizen_is_logged_as_reply(client, org, case):
    case_assign(case=case, handler=org.handler_a1, co_handlers=[], actor=org.manager_a)
    login(client, org.handler_a1)
    response = client.post(
        reverse("mailboxes:case_send_citizen", args=[case.pk]), {"citizen-body": "Hej Greta"}
    )
    assert response.status_code == 302
    entry = _entry(Action.REPLY, org.handler_a1)
    _assert_names_citizen_and_case(entry, case)
    assert entry.route == AccessLogEntry.Route.ASSIGNED_CASE
    assert entry.object_type == "message"


def test_a_first_message_to_the_citizen_is_logged_as_send(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Kallelse")
    login(client, org.handler_a1)
    client.post(reverse("mailboxes:case_send_citizen", args=[case.pk]), {"citizen-body": "Välkommen"})
    _assert_names_citizen_and_case(_entry(Action.SEND, org.handler_a1), case)
    assert not AccessLogEntry.objects.filter(action=Action.REPLY).exists()


def test_an_internal_note_is_logged(client, org, case):
    login(client, org.manager_a)
    response = client.post(_thread_url("note", org, case), {"note-body": "Ring på måndag"})
    assert response.status_code == 302
    entry = _entry(Action.NOTE, org.manager_a)
    _assert_names_citizen_and_case(entry, case)
    assert entry.route == AccessLogEntry.Route.GROUP_MAILBOX
    assert entry.mailbox_id == group(org.unit_a).pk


@pytest.mark.parametrize(
    ("steps", "logged"),
    [
        (["take"], Action.TAKE),
        (["take", "release"], Action.RELEASE),
        (["handled"], Action.HANDLED),
        (["handled", "reopen"], Action.REOPEN),
    ],
)
def test_group_mailbox_work_on_a_citizen_thread_is_logged(client, org, case, steps, logged):
    login(client, org.handler_a2)
    for step in steps:
        assert client.post(_thread_url(step, org, case)).status_code == 302
    entry = _entry(logged, org.handler_a2)
    _assert_names_citizen_and_case(entry, case)
    assert entry.route == AccessLogEntry.Route.GROUP_MAILBOX


def test_opening_an_unread_thread_logs_the_read_and_the_mark_read_once(client, org, case):
    login(client, org.handler_a2)
    client.get(_thread_url("thread", org, case))
    client.get(_thread_url("thread", org, case))  # already read: no second mark-read
    _assert_names_citizen_and_case(_entry(Action.MARK_READ, org.handler_a2), case)
    assert AccessLogEntry.objects.filter(action=Action.READ_THREAD, user=org.handler_a2).count() == 2


def test_assigning_a_case_is_logged_with_the_actor(client, org, case):
    login(client, org.manager_a)
    url = reverse("eservices:staff_case_assign", args=[case.pk])
    page = client.get(url)
    token = page.context["form"]["token"].value()
    response = client.post(url, {"handler": org.handler_a1.pk, "co_handlers": [], "token": token})
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = _entry(Action.ASSIGN, org.manager_a)
    _assert_names_citizen_and_case(entry, case)
    assert entry.detail["handler"] == org.handler_a1.pk


def test_printing_a_thread_is_logged_as_print_before_it_shows(client, org, case):
    login(client, org.handler_a2)
    page = client.get(_thread_url("print", org, case))
    assert page.status_code == 200
    assert "Hej, jag undrar över beslutet." in page.content.decode()
    entry = _entry(Action.PRINT, org.handler_a2)
    _assert_names_citizen_and_case(entry, case)
    assert not AccessLogEntry.objects.filter(action=Action.READ_THREAD).exists()


def test_the_print_page_of_another_units_thread_is_refused(client, org, case):
    login(client, org.handler_b1)
    assert client.get(_thread_url("print", org, case)).status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_the_reviewer_filters_by_each_new_action(client, org, case):
    login(client, org.handler_a2)
    client.post(_thread_url("take", org, case))
    client.post(_thread_url("handled", org, case))
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:search"), {"action": "take"}).content.decode()
    assert "1 post" in body and "Bo Berg" in body
    assert "Tog tråden" in body
    body = client.get(reverse("audit:search"), {"action": "handled"}).content.decode()
    assert "1 post" in body and "Markerade som hanterad" in body
