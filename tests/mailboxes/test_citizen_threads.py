"""Citizen threads seen by staff: only handler and co-handlers send, everyone who can read may add an
internal note, and every read is in the access log first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessLogEntry
from eservices.services import case_assign
from mailboxes.models import Delivery, MailboxThread, Message
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, personal
from tests.mailboxes.test_access import pdf_attachment

pytestmark = pytest.mark.django_db

CITIZEN_TEXT = "Hej, jag har fått ett beslut som jag inte förstår."


@pytest.fixture
def case(org):
    """Unassigned case in unit A: the citizen's message is in the group mailbox."""
    case = factories.case(
        eservice_obj=org.eservice_a,
        citizen_obj=factories.citizen("Greta", "Medborgarsson", number="198001019812"),
        subject="Fråga om beslut",
    )
    citizen_writes(case, body=CITIZEN_TEXT)
    return case


def group_urls(org, case):
    gbox = group(org.unit_a)
    return {
        "thread": reverse("mailboxes:thread", args=[gbox.pk, case.thread_id]),
        "send": reverse("mailboxes:send_citizen", args=[gbox.pk, case.thread_id]),
        "note": reverse("mailboxes:note", args=[gbox.pk, case.thread_id]),
    }


def test_group_member_who_is_not_handler_sees_why_and_is_refused_403(client, org, case):
    case_assign(case=case, handler=org.handler_a1, co_handlers=[], actor=org.manager_a)
    urls = group_urls(org, case)
    login(client, org.handler_a2)

    page = client.get(urls["thread"]).content.decode()
    assert CITIZEN_TEXT in page
    assert "Endast ärendets handläggare eller en medhandläggare kan skicka meddelanden" in page
    assert "Anna Andersson" in page  # who the handler is
    assert "Dora Dahl" in page  # the unit manager to ask
    assert "be enhetschefen" in page
    assert 'name="citizen-body"' not in page  # no composer

    response = client.post(urls["send"], {"citizen-body": "Hej från Bo"})
    assert response.status_code == 403
    assert not Message.objects.filter(thread=case.thread, body="Hej från Bo").exists()


def test_after_being_added_as_co_handler_they_can_send(client, org, case, django_capture_on_commit_callbacks):
    case_assign(case=case, handler=org.handler_a1, co_handlers=[org.handler_a2], actor=org.manager_a)
    urls = group_urls(org, case)
    login(client, org.handler_a2)
    page = client.get(urls["thread"]).content.decode()
    assert 'name="citizen-body"' in page
    assert "Skicka till medborgaren" in page

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(urls["send"], {"citizen-body": "Hej Greta! Jag hjälper dig."})
    assert response.status_code == 302
    message = Message.objects.get(thread=case.thread, body="Hej Greta! Jag hjälper dig.")
    assert message.sender == org.handler_a2
    assert callbacks, "the citizen notification is enqueued on commit"
    # The group mailbox keeps a read copy so its members see the answer.
    copy = Delivery.objects.get(message=message, mailbox=group(org.unit_a))
    assert copy.read_at is not None and copy.reason == Delivery.Reason.SENT


def test_handler_without_mailbox_copy_sends_through_the_case_route(client, org, case):
    case_assign(case=case, handler=org.handler_b1, co_handlers=[], actor=org.sysadmin)
    login(client, org.handler_b1)
    page = client.get(reverse("mailboxes:case_thread", args=[case.pk])).content.decode()
    assert CITIZEN_TEXT in page
    response = client.post(reverse("mailboxes:case_send_citizen", args=[case.pk]), {"citizen-body": "Svar"})
    assert response.status_code == 302
    assert Message.objects.filter(thread=case.thread, sender=org.handler_b1, body="Svar").exists()
    entry = AccessLogEntry.objects.filter(user=org.handler_b1).first()
    assert entry.route == AccessLogEntry.Route.ASSIGNED_CASE


def test_manager_who_reads_is_refused_to_send_but_may_add_a_note(client, org, case):
    urls = group_urls(org, case)
    login(client, org.manager_a)
    assert client.post(urls["send"], {"citizen-body": "x"}).status_code == 403
    response = client.post(urls["note"], {"note-body": "Ring henne på måndag."})
    assert response.status_code == 302
    note = Message.objects.get(thread=case.thread, kind=Message.Kind.NOTE)
    assert note.sender == org.manager_a
    # Not routed anywhere: only the writer's mailbox holds it, read.
    assert list(Delivery.objects.filter(message=note).values_list("mailbox_id", flat=True)) == [
        group(org.unit_a).pk
    ]
    assert "Ring henne på måndag." in client.get(urls["thread"]).content.decode()


def test_every_read_of_a_citizen_thread_is_logged_with_route_and_mailbox(client, org, case):
    urls = group_urls(org, case)
    login(client, org.handler_a2)
    client.get(urls["thread"])
    entry = AccessLogEntry.objects.get(user=org.handler_a2, action=AccessLogEntry.Action.READ_THREAD)
    assert entry.route == AccessLogEntry.Route.GROUP_MAILBOX
    assert (entry.thread_id, entry.mailbox_id, entry.case_id) == (
        case.thread_id,
        group(org.unit_a).pk,
        case.pk,
    )
    assert entry.citizen_id == case.citizen.user_id


def test_internal_threads_are_not_in_the_access_log(client, org):
    from tests.mailboxes.conftest import internal_thread

    message = internal_thread(org.handler_a1, [personal(org.handler_a2)])
    login(client, org.handler_a2)
    client.get(reverse("mailboxes:thread", args=[personal(org.handler_a2).pk, message.thread_id]))
    assert not AccessLogEntry.objects.exists()


def test_when_the_access_log_cannot_be_written_nothing_is_shown(client, org, case, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("log store unavailable")

    monkeypatch.setattr("audit.services.access_log_record", broken)
    monkeypatch.setattr("audit.services.access_log_record_many", broken)
    client.raise_request_exception = False
    login(client, org.handler_a2)
    response = client.get(group_urls(org, case)["thread"])
    assert response.status_code == 500
    assert CITIZEN_TEXT not in response.content.decode()
    # Nor was it marked read.
    assert MailboxThread.objects.get(mailbox=group(org.unit_a), thread=case.thread).unread_count == 1


def test_attachment_download_is_logged_and_checked(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    from absence.routing import route_message
    from eservices.services import citizen_message_send

    files = pdf_attachment(case.citizen.user, name="lonespec.pdf")
    message = citizen_message_send(
        case=case, citizen_user=case.citizen.user, body="Bifogar", attachments=files
    )
    route_message(message_id=message.pk)
    attachment = message.attachments.get()
    own = personal(org.handler_a1)
    login(client, org.handler_a1)
    response = client.get(reverse("mailboxes:attachment", args=[own.pk, attachment.pk]))
    assert response.status_code == 200
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.DOWNLOAD_ATTACHMENT)
    assert (entry.object_id, entry.route, entry.mailbox_id) == (
        attachment.pk,
        AccessLogEntry.Route.OWN_MAILBOX,
        own.pk,
    )
    # Another handler's mailbox id does not open it.
    login(client, org.handler_a2)
    assert client.get(reverse("mailboxes:attachment", args=[own.pk, attachment.pk])).status_code == 404
    assert client.get(reverse("mailboxes:case_attachment", args=[case.pk, attachment.pk])).status_code == 404


def test_thread_page_shows_the_case_with_masked_personnummer(client, org, case):
    login(client, org.handler_a2)
    page = client.get(group_urls(org, case)["thread"]).content.decode()
    assert case.reference in page
    assert org.eservice_a.name in page
    assert "Greta Medborgarsson" in page
    assert "19800101-****" in page
    assert "198001019812" not in page and "19800101-9812" not in page


def test_forwarding_a_citizen_thread_by_hand_is_logged(client, org, case):
    from mailboxes.services import membership_add

    membership_add(unit=org.unit_b, user=org.handler_a2)  # forwards go to one's own units only
    login(client, org.handler_a2)
    url = reverse("mailboxes:forward", args=[group(org.unit_a).pk, case.thread_id])
    response = client.post(url, {"target": group(org.unit_b).pk, "note": "Rör er enhet"})
    assert response.status_code == 302
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.FORWARD)
    assert entry.detail["to_mailbox"] == group(org.unit_b).pk and entry.detail["reason"] == "Rör er enhet"
    row = MailboxThread.objects.get(mailbox=group(org.unit_b), thread=case.thread)
    assert row.forwarded_by_name == "Bo Berg" and row.unread_count == 1


def test_opening_the_forward_form_of_a_citizen_thread_is_logged_before_it_shows(client, org, case):
    """The form shows the citizen's name and the subject: a read like opening the thread."""
    gbox = group(org.unit_a)
    login(client, org.handler_a2)
    url = reverse("mailboxes:forward", args=[gbox.pk, case.thread_id])
    for response in (client.get(url), client.post(url, {})):  # the form, and the form re-shown
        assert response.status_code in (200, 400)
        assert case.thread.subject in response.content.decode()
    entries = AccessLogEntry.objects.filter(user=org.handler_a2).order_by("seq")
    assert [(e.action, e.route, e.detail) for e in entries] == [
        (AccessLogEntry.Action.READ_THREAD, AccessLogEntry.Route.GROUP_MAILBOX, {"page": "forward"})
    ] * 2
    assert {(e.thread_id, e.mailbox_id, e.case_id, e.citizen_id) for e in entries} == {
        (case.thread_id, gbox.pk, case.pk, case.citizen.user_id)
    }


def test_the_forward_form_of_an_internal_thread_is_not_in_the_access_log(client, org):
    from tests.mailboxes.conftest import internal_thread

    message = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    login(client, org.handler_a1)
    url = reverse("mailboxes:forward", args=[personal(org.handler_a1).pk, message.thread_id])
    assert client.get(url).status_code == 200
    assert not AccessLogEntry.objects.exists()
