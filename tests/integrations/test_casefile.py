"""Journalföring: the PDF/A goes to the case system, signed, retried, and the thread shows the
receipt only once the case system has given one (integrations/casefile.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from absence.routing import route_message
from audit.models import AccessLogEntry, AuditEvent
from eservices.services import citizen_message_send
from integrations import casefile
from integrations.models import CaseFileEntry, ThreadExport
from integrations.tasks import deliver_case_file, webhook_sweep
from tests import factories
from tests.conftest import login
from tests.integrations.case_system import ACCEPT, FAIL
from tests.integrations.pdfa_check import pdfa_problems
from tests.integrations.test_export import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(org):
    from eservices.services import case_create

    case = case_create(
        citizen=factories.citizen(),
        eservice=org.eservice_a,
        subject="Hyra",
        handler=org.handler_a1,
        external_id="LC-2026-17",
    )
    for text in ("Jag behöver hjälp med hyran.", "Här är en fråga till."):
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=text)
        route_message(message_id=message.pk)
    return case


def journalfor(client, case, django_capture_on_commit_callbacks, **extra):
    """POST "Journalför" as the logged-in user; returns (response, the ids enqueued on commit)."""
    ids = list(case.thread.messages.order_by("created_at").values_list("pk", flat=True))
    with (
        mock.patch.object(deliver_case_file, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("integrations:export_thread", args=[case.thread_id]),
            {"messages": ids, "request_key": str(uuid.uuid4()), **extra},
        )
    return response, [c.kwargs["entry_id"] for c in delay.call_args_list]


def thread_page(client, case) -> str:
    return client.get(reverse("mailboxes:case_thread", args=[case.pk])).content.decode()


def run_task(entry_id: str):
    """What a worker does with the enqueued task (JSON arguments, as Celery sends them)."""
    return casefile.case_file_attempt(entry_id=entry_id)


def test_journalforing_delivers_signed_pdfa_and_the_receipt_appears_on_the_thread(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    system, _api = case_system
    login(client, org.handler_a1)

    response, enqueued = journalfor(client, case, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == reverse("mailboxes:case_thread", args=[case.pk])
    entry = CaseFileEntry.objects.get()
    assert enqueued == [str(entry.pk)]
    assert "Väntar på kvittens:" in thread_page(client, case)
    assert "Journalförd i ärende" not in thread_page(client, case)

    assert run_task(enqueued[0]) is None

    [received] = system.received
    assert system.refused == 0  # the signature verified with the client's secret
    assert received.headers["webhook-id"] == str(entry.pk)
    assert received.headers["X-Lifemsg-Event"] == "case_file.document"
    assert received.payload["case"] == {"external_id": "LC-2026-17", "reference": case.reference}
    assert received.payload["document"]["conformance"] == "PDF/A-3B"
    assert pdfa_problems(received.pdf) == []
    assert "Jag behöver hjälp med hyran." in pdf_text(received.pdf)

    entry.refresh_from_db()
    assert (entry.status, entry.document_id, entry.pdf) == (CaseFileEntry.Status.ACKNOWLEDGED, "DOK-1", None)
    assert entry.sha256 == hashlib.sha256(received.pdf).hexdigest()
    when = timezone.localtime(entry.acknowledged_at).strftime("%Y-%m-%d %H:%M")
    html = thread_page(client, case)
    assert f"Journalförd i ärende LC-2026-17, {when}, av Anna Andersson." in html
    assert "ärendesystemets dokument-id DOK-1" in html
    assert "Väntar på kvittens" not in html

    log = AccessLogEntry.objects.get(action=AccessLogEntry.Action.EXPORT)
    assert (log.user, log.case_id, log.citizen_id) == (org.handler_a1, case.pk, case.citizen.user_id)
    assert log.detail["delivery"] == "case_system" and log.detail["entry"] == str(entry.pk)
    event = AuditEvent.objects.get(action="case_file.acknowledge")
    assert event.actor == system.client.user and event.after["document_id"] == "DOK-1"
    assert not ThreadExport.objects.exists()  # nothing was downloaded


def test_a_later_receipt_through_the_api_marks_the_thread(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    system, api = case_system
    system.answers = [ACCEPT]
    login(client, org.handler_a1)
    _response, [entry_id] = journalfor(client, case, django_capture_on_commit_callbacks)

    assert run_task(entry_id) is None
    entry = CaseFileEntry.objects.get()
    assert entry.status == CaseFileEntry.Status.DELIVERED and entry.pdf is not None
    assert "och ännu inte kvitterat den." in thread_page(client, case)

    url = reverse("integrations:api_case_file_receipt", args=[entry_id])
    wrong = api.post(url, {"document_id": "D-9", "sha256": "0" * 64}, format="json")
    assert wrong.status_code == 400 and "sha256" in wrong.json()
    answer = api.post(url, {"document_id": "D-9", "sha256": entry.sha256}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "acknowledged"
    assert api.post(url, {"document_id": "D-9"}, format="json").status_code == 200  # the same again
    assert api.post(url, {"document_id": "D-10"}, format="json").status_code == 409

    assert "Journalförd i ärende LC-2026-17" in thread_page(client, case)
    assert CaseFileEntry.objects.get().pdf is None


def test_a_receipt_is_refused_for_another_clients_document_and_without_the_scope(
    client, org, case, case_system, make_api, django_capture_on_commit_callbacks
):
    login(client, org.handler_a1)
    _response, [entry_id] = journalfor(client, case, django_capture_on_commit_callbacks)
    url = reverse("integrations:api_case_file_receipt", args=[entry_id])
    _other, other_with_scope = make_api(scopes=["casefile:write"], name="annat-system")
    _reader, without_scope = make_api(scopes=["cases:read"], name="lasare")
    assert other_with_scope.post(url, {"document_id": "X"}, format="json").status_code == 404
    assert without_scope.post(url, {"document_id": "X"}, format="json").status_code == 403
    assert CaseFileEntry.objects.get().status == CaseFileEntry.Status.PENDING


@override_settings(WEBHOOK_MAX_ATTEMPTS=3)
def test_failures_are_retried_with_backoff_then_shown_honestly(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    system, _api = case_system
    system.answers = [FAIL, FAIL, FAIL]
    login(client, org.handler_a1)
    _response, [entry_id] = journalfor(client, case, django_capture_on_commit_callbacks)

    first_wait = run_task(entry_id)
    assert first_wait and first_wait > 0
    entry = CaseFileEntry.objects.get()
    assert (entry.status, entry.attempts, entry.last_error) == ("pending", 1, "HTTP 503")
    assert entry.next_attempt_at > timezone.now()
    assert run_task(entry_id) is None  # not due yet: a duplicate task sends nothing
    assert len(system.received) == 1
    html = thread_page(client, case)
    assert "Väntar på kvittens:" in html and "ärendesystemet har inte svarat (1 försök" in html

    for expected_attempt in (2, 3):
        CaseFileEntry.objects.filter(pk=entry_id).update(next_attempt_at=timezone.now())
        run_task(entry_id)
        assert CaseFileEntry.objects.get().attempts == expected_attempt

    entry = CaseFileEntry.objects.get()
    assert (entry.status, entry.pdf) == (CaseFileEntry.Status.FAILED, None)
    assert {r.headers["webhook-id"] for r in system.received} == {entry_id}  # one id on every attempt
    html = thread_page(client, case)
    assert "Journalföringen misslyckades:" in html and "efter 3 försök (HTTP 503)" in html
    assert "Journalförd i ärende" not in html


def test_a_retry_after_a_failure_files_the_document_once(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    system, _api = case_system
    system.answers = [FAIL]
    login(client, org.handler_a1)
    _response, [entry_id] = journalfor(client, case, django_capture_on_commit_callbacks)
    run_task(entry_id)
    CaseFileEntry.objects.filter(pk=entry_id).update(next_attempt_at=timezone.now())
    assert run_task(entry_id) is None
    assert CaseFileEntry.objects.get().status == CaseFileEntry.Status.ACKNOWLEDGED
    assert run_task(entry_id) is None  # done: nothing more is sent
    assert len(system.received) == 2


def test_the_sweep_sends_an_entry_whose_task_was_lost(
    org, case, case_system, client, django_capture_on_commit_callbacks
):
    login(client, org.handler_a1)
    journalfor(client, case, django_capture_on_commit_callbacks)
    entry = CaseFileEntry.objects.get()
    with mock.patch.object(deliver_case_file, "delay") as delay:
        assert webhook_sweep() == 0  # not overdue yet
        CaseFileEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
        assert webhook_sweep() == 1
    delay.assert_called_once_with(entry_id=str(entry.pk))
    assert deliver_case_file.acks_late and deliver_case_file.name == "integrations.deliver_case_file"


def test_the_same_form_sent_twice_journals_once(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    login(client, org.handler_a1)
    key = str(uuid.uuid4())
    journalfor(client, case, django_capture_on_commit_callbacks, request_key=key)
    journalfor(client, case, django_capture_on_commit_callbacks, request_key=key)
    assert CaseFileEntry.objects.count() == 1
    assert AccessLogEntry.objects.filter(action=AccessLogEntry.Action.EXPORT).count() == 1


def test_without_a_case_system_journalforing_is_refused_and_said_so(
    client, org, case, django_capture_on_commit_callbacks
):
    login(client, org.handler_a1)
    page = client.get(reverse("integrations:export_thread", args=[case.thread_id])).content.decode()
    assert "Inget ärendesystem är anslutet för journalföring." in page
    response, enqueued = journalfor(client, case, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and enqueued == []
    assert not CaseFileEntry.objects.exists()
    assert not AccessLogEntry.objects.filter(action=AccessLogEntry.Action.EXPORT).exists()


def test_another_users_form_key_is_a_request_of_its_own(
    client, org, case, case_system, django_capture_on_commit_callbacks
):
    from eservices.services import case_assign

    case_assign(case=case, handler=org.handler_a1, co_handlers=[org.handler_a2])
    login(client, org.handler_a1)
    key = str(uuid.uuid4())
    journalfor(client, case, django_capture_on_commit_callbacks, request_key=key)
    login(client, org.handler_a2)
    response, enqueued = journalfor(client, case, django_capture_on_commit_callbacks, request_key=key)
    assert response.status_code == 302 and len(enqueued) == 1
    assert sorted(CaseFileEntry.objects.values_list("requested_by", flat=True)) == sorted(
        [org.handler_a1.pk, org.handler_a2.pk]
    )


@override_settings(CASE_FILE_DELIVERY="pull")
def test_a_case_system_that_pulls_fetches_the_pdfa_with_its_token_then_acknowledges(
    client, org, case, case_system, make_api, django_capture_on_commit_callbacks
):
    system, api = case_system
    system.answers = [ACCEPT]
    login(client, org.handler_a1)
    _response, [entry_id] = journalfor(client, case, django_capture_on_commit_callbacks)
    run_task(entry_id)
    [received] = system.received
    document = received.payload["document"]
    assert "content_base64" not in document and received.pdf == b""  # the webhook carries no content
    assert document["path"] == reverse("integrations:api_case_file_document", args=[entry_id])

    _other, other_api = make_api(scopes=["casefile:write"], name="annat-system")
    assert other_api.get(document["path"]).status_code == 404
    pulled = api.get(document["path"], HTTP_ACCEPT="application/pdf")
    assert pulled.status_code == 200 and pulled["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pulled.content).hexdigest() == document["sha256"]
    assert pdfa_problems(pulled.content) == []
    read = AccessLogEntry.objects.get(route=AccessLogEntry.Route.API)
    assert (read.user, read.action, read.case_id) == (system.client.user, "read_thread", case.pk)
    assert read.detail["entry"] == entry_id

    receipt = reverse("integrations:api_case_file_receipt", args=[entry_id])
    api.post(receipt, {"document_id": "D-1", "sha256": document["sha256"]}, format="json")
    assert "Journalförd i ärende LC-2026-17" in thread_page(client, case)
    gone = api.get(document["path"])
    assert gone.status_code == 410  # acknowledged: lifemsg keeps the PDF no longer


def test_a_misspelt_delivery_mode_stops_the_deploy():
    from integrations.checks import case_file_delivery_check

    assert case_file_delivery_check() == []
    with override_settings(CASE_FILE_DELIVERY="pul"):
        [error] = case_file_delivery_check()
    assert error.id == "integrations.E004"
