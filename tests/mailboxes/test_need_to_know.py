"""Need-to-know ends when the need ends (guarantee 9): the case's handler and co-handlers see the whole
citizen thread; anyone else sees what was delivered to the mailbox they open it through, with the
thread's earlier messages as context, and nothing written after that — not on the thread page, in
search, as an attachment, in an export, nor in the access log."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from absence.models import Absence
from absence.routing import route_message
from absence.services import absence_create, absence_end
from audit.models import AccessLogEntry
from eservices.services import case_assign, citizen_message_send
from mailboxes.attachments import attachments_store, validate_upload
from mailboxes.models import Delivery
from mailboxes.services import thread_forward
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, personal

pytestmark = pytest.mark.django_db

LATER = "Nu skriver jag om något helt nytt: flyttbidrag"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _writes_with_file(case, body: str):
    upload = SimpleUploadedFile("sent.png", PNG, content_type="image/png")
    [attachment] = attachments_store([(upload, validate_upload(upload))], uploaded_by=case.citizen.user)
    message = citizen_message_send(
        case=case, citizen_user=case.citizen.user, body=body, attachments=[attachment]
    )
    route_message(message_id=message.pk)
    return message, attachment


def _page(client, user, mailbox, case):
    login(client, user)
    return client.get(reverse("mailboxes:thread", args=[mailbox.pk, case.thread_id]))


def _search_hits(client, user, case) -> bool:
    login(client, user)
    response = client.get(reverse("mailboxes:search"), {"q": "flyttbidrag"})
    assert response.status_code == 200
    return any(row.thread_id == case.thread_id for row in response.context["page"].object_list)


def _reads_logged(user, case) -> list[AccessLogEntry]:
    return list(
        AccessLogEntry.objects.filter(
            user=user, thread_id=case.thread_id, action=AccessLogEntry.Action.READ_THREAD
        ).order_by("seq")
    )


def _assert_cut_off(client, user, mailbox, case, *, earlier, later, attachment, now_handled_by):
    response = _page(client, user, mailbox, case)
    assert response.status_code == 200
    body = response.content.decode()
    assert earlier.body in body
    assert later.body not in body
    assert "Ärendet handläggs nu av" in body and now_handled_by.get_full_name() in body
    shown = [m.pk for m in response.context["thread_messages"]]
    assert later.pk not in shown and earlier.pk in shown
    [entry] = _reads_logged(user, case)[-1:]
    assert entry.detail["through_message"] < later.pk
    assert not _search_hits(client, user, case)
    login(client, user)
    url = reverse("mailboxes:attachment", args=[mailbox.pk, attachment.pk])
    assert client.get(url).status_code == 404


def _assert_whole_thread(client, user, mailbox, case, later):
    response = _page(client, user, mailbox, case)
    assert response.status_code == 200
    assert later.body in response.content.decode()
    assert "Ärendet handläggs nu av" not in response.content.decode()
    assert _search_hits(client, user, case)


def test_group_member_stops_reading_when_the_sick_call_ends(client, org, citizen_case):
    earlier = citizen_case.thread.messages.get()
    absence = absence_create(
        handler=org.handler_a1,
        actor=org.admin,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=group(org.unit_a),
    )
    during = citizen_writes(citizen_case, body="Jag är sjuk, kan någon svara?")
    absence_end(absence=absence, actor=org.admin)
    later, attachment = _writes_with_file(citizen_case, LATER)
    assert not Delivery.objects.filter(message=later, mailbox=group(org.unit_a)).exists()

    _assert_cut_off(
        client,
        org.handler_a2,
        group(org.unit_a),
        citizen_case,
        earlier=during,
        later=later,
        attachment=attachment,
        now_handled_by=org.handler_a1,
    )
    assert earlier.body in _page(client, org.handler_a2, group(org.unit_a), citizen_case).content.decode()
    _assert_whole_thread(client, org.handler_a1, personal(org.handler_a1), citizen_case, later)


def test_former_handler_stops_reading_after_the_case_moves(client, org, citizen_case):
    earlier = citizen_case.thread.messages.get()
    case_assign(case=citizen_case, handler=org.handler_a2, co_handlers=[], actor=org.manager_a)
    later, attachment = _writes_with_file(citizen_case, LATER)

    _assert_cut_off(
        client,
        org.handler_a1,
        personal(org.handler_a1),
        citizen_case,
        earlier=earlier,
        later=later,
        attachment=attachment,
        now_handled_by=org.handler_a2,
    )
    _assert_whole_thread(client, org.handler_a2, personal(org.handler_a2), citizen_case, later)


def test_forward_by_hand_gives_the_thread_as_it_stands(client, org, citizen_case):
    earlier = citizen_case.thread.messages.get()
    thread_forward(
        mailbox=personal(org.handler_a1),
        thread=citizen_case.thread,
        target=group(org.unit_a),
        user=org.handler_a1,
        note="Titta gärna",
    )
    later, attachment = _writes_with_file(citizen_case, LATER)

    _assert_cut_off(
        client,
        org.manager_a,
        group(org.unit_a),
        citizen_case,
        earlier=earlier,
        later=later,
        attachment=attachment,
        now_handled_by=org.handler_a1,
    )


def test_co_handler_in_the_group_sees_the_whole_thread(client, org, citizen_case):
    case_assign(case=citizen_case, handler=org.handler_a1, co_handlers=[org.handler_a2], actor=org.manager_a)
    thread_forward(
        mailbox=personal(org.handler_a1),
        thread=citizen_case.thread,
        target=group(org.unit_a),
        user=org.handler_a1,
    )
    later, _attachment = _writes_with_file(citizen_case, LATER)
    _assert_whole_thread(client, org.handler_a2, group(org.unit_a), citizen_case, later)


def test_export_leaves_out_what_came_after_the_need_ended(client, org, citizen_case):
    earlier = citizen_case.thread.messages.get()
    case_assign(case=citizen_case, handler=org.handler_a2, co_handlers=[], actor=org.manager_a)
    later, _attachment = _writes_with_file(citizen_case, LATER)
    login(client, org.handler_a1)
    response = client.get(reverse("integrations:export_thread", args=[citizen_case.thread_id]))
    assert response.status_code == 200
    ids = [row["message"].pk for row in response.context["rows"]]
    assert earlier.pk in ids and later.pk not in ids
