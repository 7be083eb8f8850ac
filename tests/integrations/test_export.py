"""The case-file PDF and its download: PDF content, who may, the access log, the panel.
Delivery to the case system (journalföring proper) is in test_casefile.py."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from absence.routing import route_message
from accounts import roles
from audit.models import AccessLogEntry
from eservices.services import citizen_message_send, staff_message_send
from integrations.models import ThreadExport
from mailboxes.models import Attachment, Message
from mailboxes.services import message_store, thread_create
from tests import factories
from tests.conftest import login
from tests.integrations.pdfa_check import pdfa_problems

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in reader.pages))


def local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def thread(org):
    """A case handled by handler_a1 with three messages: citizen (with two attachments), staff reply,
    citizen again, routed to the handler's mailbox, at distinct minutes."""
    citizen = factories.citizen(first="Sara", last="Svensson")
    case = factories.case(
        citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Hyra"
    )
    start = timezone.now() - timedelta(hours=3)
    attachments = [
        Attachment.objects.create(
            file=ContentFile(b"%PDF-1.4 test", name="x"),
            filename=name,
            content_type="application/pdf",
            size=2048,
            uploaded_by=citizen.user,
        )
        for name in ("hyresavi.pdf", "lönebesked.pdf")
    ]
    first = citizen_message_send(
        case=case, citizen_user=citizen.user, body="Jag behöver hjälp med hyran.", attachments=attachments
    )
    reply = staff_message_send(case=case, sender=org.handler_a1, body="Vi har tagit emot din ansökan.")
    last = citizen_message_send(case=case, citizen_user=citizen.user, body="Tack! Här är en fråga till.")
    for n, message in enumerate((first, reply, last)):
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=17 * n))
        route_message(message_id=message.pk)
    case.refresh_from_db()
    return case, [Message.objects.get(pk=m.pk) for m in (first, reply, last)]


def export_url(case) -> str:
    return reverse("integrations:export_thread", args=[case.thread_id])


def download_url(case) -> str:
    return reverse("integrations:export_thread_download", args=[case.thread_id])


def manager_on_case(org, case) -> None:
    """The unit manager as co-handler, so that the handler's personal-mailbox thread is theirs too."""
    from eservices.services import case_assign

    case_assign(case=case, handler=org.handler_a1, co_handlers=[org.manager_a])


def test_unit_manager_downloads_the_whole_thread_as_pdfa_with_senders_times_and_attachments(
    client, org, thread
):
    case, messages = thread
    manager_on_case(org, case)
    login(client, org.manager_a)
    page = client.get(export_url(case))
    assert page.status_code == 200
    assert "Exportera för journalföring" in page.content.decode()
    assert download_url(case) in page.content.decode()

    response = client.post(download_url(case), {"messages": [m.pk for m in messages]})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{case.reference}-')
    text = pdf_text(response.content)
    assert case.reference in text
    assert "Sara Svensson" in text and case.citizen.personnummer_formatted in text
    assert case.eservice.name in text
    for message, sender in zip(
        messages,
        ["Sara Svensson (medborgare)", "Anna Andersson (personal)", "Sara Svensson (medborgare)"],
        strict=True,
    ):
        assert f"Från: {sender} Inkom: {local(message.created_at)}" in text
    assert "hyresavi.pdf" in text and "lönebesked.pdf" in text
    assert "Jag behöver hjälp med hyran." in text
    assert pdfa_problems(response.content) == []

    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.EXPORT)
    assert (entry.user, entry.route, entry.case_id, entry.thread_id) == (
        org.manager_a,
        AccessLogEntry.Route.ASSIGNED_CASE,
        case.pk,
        case.thread_id,
    )
    assert entry.citizen_id == case.citizen.user_id
    assert entry.detail["delivery"] == "download"
    export = ThreadExport.objects.get()
    assert (export.exported_by, export.message_ids, export.whole_thread) == (
        org.manager_a,
        [m.pk for m in messages],
        True,
    )


def test_only_the_chosen_messages_are_exported(client, org, thread):
    case, messages = thread
    manager_on_case(org, case)
    login(client, org.manager_a)
    chosen = [messages[0], messages[2]]

    response = client.post(download_url(case), {"messages": [m.pk for m in chosen]})

    text = pdf_text(response.content)
    for message in chosen:
        assert local(message.created_at) in text
    assert local(messages[1].created_at) not in text
    assert "Vi har tagit emot din ansökan." not in text
    assert "2 av 3 i tråden" in text
    export = ThreadExport.objects.get()
    assert (export.message_ids, export.whole_thread) == ([messages[0].pk, messages[2].pk], False)
    assert AccessLogEntry.objects.get(action="export").detail["message_ids"] == export.message_ids


def test_choosing_nothing_is_refused_in_swedish_and_nothing_is_exported(client, org, thread):
    case, _messages = thread
    login(client, org.handler_a1)
    response = client.post(export_url(case), {})
    assert response.status_code == 400
    assert "Välj minst ett meddelande att exportera." in response.content.decode()
    # The form shown again is a read (below); no export is logged or recorded.
    assert not AccessLogEntry.objects.filter(action=AccessLogEntry.Action.EXPORT).exists()
    assert not ThreadExport.objects.exists()


def test_opening_the_export_form_is_logged_before_it_shows_the_thread(client, org, thread):
    """The form shows the citizen's name, masked personal identity number, subject and senders."""
    case, _messages = thread
    login(client, org.handler_a1)
    for response in (client.get(export_url(case)), client.post(export_url(case), {})):
        assert "Sara Svensson" in response.content.decode()
    entries = list(AccessLogEntry.objects.order_by("seq"))
    assert [(e.user_id, e.action, e.route, e.detail) for e in entries] == [
        (
            org.handler_a1.pk,
            AccessLogEntry.Action.READ_THREAD,
            AccessLogEntry.Route.ASSIGNED_CASE,
            {"page": "export"},
        )
    ] * 2
    assert {(e.thread_id, e.case_id, e.unit_id, e.citizen_id) for e in entries} == {
        (case.thread_id, case.pk, case.unit_id, case.citizen.user_id)
    }


def test_a_message_from_another_thread_cannot_be_smuggled_in(client, org, thread):
    case, messages = thread
    other, other_messages = _other_case_thread(org)
    login(client, org.handler_a1)
    response = client.post(export_url(case), {"messages": [messages[0].pk, other_messages[0].pk]})
    assert response.status_code == 400
    assert not ThreadExport.objects.exists()


def _other_case_thread(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_b1)
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Annat")
    route_message(message_id=message.pk)
    return case, [message]


def test_a_member_of_the_unit_whose_group_mailbox_holds_the_thread_may_export(client, org):
    case = factories.case(eservice_obj=org.eservice_a)  # no handler: the group mailbox gets it
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    route_message(message_id=message.pk)
    login(client, org.handler_a2)
    assert client.get(export_url(case)).status_code == 200
    login(client, org.manager_a)

    response = client.post(download_url(case), {"messages": [message.pk]})

    assert response.status_code == 200
    entry = AccessLogEntry.objects.get(action="export")
    assert (entry.route, entry.mailbox_id) == (
        AccessLogEntry.Route.GROUP_MAILBOX,
        org.unit_a.group_mailbox.pk,
    )


def test_co_handler_may_export(client, org, thread):
    case, messages = thread
    from eservices.services import case_assign

    case_assign(case=case, handler=org.handler_a1, co_handlers=[org.handler_b1])
    login(client, org.handler_b1)
    assert client.get(export_url(case)).status_code == 200


def test_case_workers_and_other_roles_may_not_download_and_are_not_offered_it(client, org, thread):
    case, messages = thread
    data = {"messages": [messages[0].pk]}
    for user in (org.handler_a1, org.handler_b1, org.log_reviewer, org.admin, org.sysadmin):
        login(client, user)
        assert client.post(download_url(case), data).status_code == 403
    login(client, org.handler_a1)
    assert download_url(case) not in client.get(export_url(case)).content.decode()
    assert not ThreadExport.objects.exists()
    assert not AccessLogEntry.objects.filter(action=AccessLogEntry.Action.EXPORT).exists()


def test_staff_who_cannot_read_the_thread_get_404_and_roles_without_mailboxes_403(client, org, thread):
    case, messages = thread
    data = {"messages": [messages[0].pk]}
    login(client, org.handler_b1)  # other unit, not on the case
    assert client.get(export_url(case)).status_code == 404
    assert client.post(export_url(case), data).status_code == 404
    for user in (org.log_reviewer, org.admin, org.superuser, org.sysadmin):
        login(client, user)
        assert client.get(export_url(case)).status_code == 403
        assert client.post(export_url(case), data).status_code == 403
    login(client, org.handler_a1)
    assert client.get(reverse("integrations:export_thread", args=[999999])).status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_citizens_and_anonymous_users_are_kept_out(client, org, thread):
    case, messages = thread
    response = client.get(export_url(case))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    login(client, case.citizen.user)
    assert client.post(export_url(case), {"messages": [messages[0].pk]}).status_code == 403
    assert not ThreadExport.objects.exists()


def test_internal_threads_cannot_be_exported(client, org):
    thread = thread_create(subject="Internt")
    message_store(thread=thread, sender=org.handler_a1, body="Hej kollega")
    login(client, org.handler_a1)
    assert client.get(reverse("integrations:export_thread", args=[thread.pk])).status_code == 404


def test_thread_shows_when_and_by_whom_a_copy_was_downloaded(client, org, thread):
    case, messages = thread
    manager_on_case(org, case)
    login(client, org.manager_a)
    client.post(download_url(case), {"messages": [m.pk for m in messages]})
    export = ThreadExport.objects.get()

    html = render_panel(case.thread, org.handler_a2)

    when = timezone.localtime(export.exported_at).strftime("%Y-%m-%d %H:%M")
    assert f"Nedladdad som PDF {when} av Dora Dahl (3 meddelanden)." in html
    assert export_url(case) in html


def render_panel(thread, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template('{% include "integrations/includes/export_panel.html" with thread=thread %}')
    return template.render(Context({"thread": thread, "request": request}))


def test_panel_says_not_exported_and_hides_the_link_from_roles_without_mailboxes(org, thread):
    case, _messages = thread
    assert "Inte journalförd ännu." in render_panel(case.thread, org.handler_a1)
    assert export_url(case) not in render_panel(case.thread, org.log_reviewer)


def test_panel_query_count_is_flat(org, thread, django_assert_num_queries):
    import uuid

    from integrations.casefile import case_file_entry_create
    from integrations.services import api_client_create, thread_export_create

    case, messages = thread
    receiver = api_client_create(
        name="arende", scopes=["casefile:write"], webhook_url="http://127.0.0.1:9/"
    ).client

    def export_once():
        case_file_entry_create(
            case=case,
            user=org.handler_a1,
            client=receiver,
            messages=messages,
            whole_thread=True,
            route=AccessLogEntry.Route.ASSIGNED_CASE,
            mailbox_id=None,
            pdf_bytes=b"x",
            request_key=uuid.uuid4(),
        )
        thread_export_create(
            case=case,
            user=org.handler_a1,
            messages=messages,
            whole_thread=True,
            route=AccessLogEntry.Route.ASSIGNED_CASE,
            mailbox_id=None,
            pdf_bytes=b"x",
        )

    export_once()
    user = factories.staff(roles.HANDLAGGARE)
    render_panel(case.thread, user)  # warm the permission cache
    # One query for the journalföring entries and the downloads together.
    with django_assert_num_queries(1):
        render_panel(case.thread, user)
    for _ in range(4):
        export_once()
    with django_assert_num_queries(1):
        html = render_panel(case.thread, user)
    assert html.count("<li>") == 5 and html.count("Väntar på kvittens:") == 5
    assert html.count("Nedladdad som PDF") == 5 and html.count("av Anna Andersson") == 10
