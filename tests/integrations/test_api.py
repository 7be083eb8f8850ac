"""REST API: cases by external id, thread metadata, scopes, errors, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from absence.routing import route_message
from audit.models import AccessLogEntry, AuditEvent
from eservices.models import Case
from eservices.permissions import can_send_to_citizen
from eservices.services import citizen_message_send
from integrations.models import ApiClient
from mailboxes.models import Delivery
from mailboxes.services import deliveries_mark_read, mailbox_personal_for
from tests import factories

pytestmark = pytest.mark.django_db

PNR = factories.personnummer(4711)


def case_url(external_id: str, suffix: str = "") -> str:
    name = {"": "api_case", "close": "api_case_close", "thread": "api_case_thread"}[suffix]
    return reverse(f"integrations:{name}", kwargs={"external_id": external_id})


def body(org, **overrides) -> dict:
    data = {
        "personnummer": PNR,
        "first_name": "Sara",
        "last_name": "Svensson",
        "eservice": org.eservice_a.slug,
        "subject": "Ansökan om ekonomiskt bistånd",
        "handler": org.handler_a1.username,
        "co_handlers": [org.handler_a2.username],
    }
    data.update(overrides)
    return data


def citizen_writes(case: Case, text: str = "Hej, jag har en fråga.") -> int:
    """The citizen's next message, routed the way the Celery task does it."""
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=text)
    route_message(message_id=message.pk)
    return message.pk


def test_put_creates_case_and_citizens_next_message_reaches_the_named_handler(org, api):
    response = api.put(case_url("LC-2026-1"), body(org), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["external_id"] == "LC-2026-1"
    assert data["handler"] == org.handler_a1.username
    assert data["co_handlers"] == [org.handler_a2.username]
    assert data["unit"] == org.unit_a.slug
    case = Case.objects.get(external_id="LC-2026-1")
    assert case.citizen.personnummer == PNR
    assert can_send_to_citizen(user=org.handler_a1, case=case)
    assert can_send_to_citizen(user=org.handler_a2, case=case)
    assert not can_send_to_citizen(user=org.handler_b1, case=case)

    message_id = citizen_writes(case)
    mailbox_ids = set(Delivery.objects.filter(message_id=message_id).values_list("mailbox_id", flat=True))
    assert mailbox_ids == {mailbox_personal_for(org.handler_a1).pk}


def test_changing_the_handler_moves_routing_and_send_permission_at_once(org, api):
    api.put(case_url("LC-2"), body(org, co_handlers=[]), format="json")
    case = Case.objects.get(external_id="LC-2")
    citizen_writes(case, "Första")

    response = api.patch(case_url("LC-2"), {"handler": org.handler_b1.username}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["handler"] == org.handler_b1.username
    case.refresh_from_db()
    assert can_send_to_citizen(user=org.handler_b1, case=case)
    assert not can_send_to_citizen(user=org.handler_a1, case=case)
    second = citizen_writes(case, "Andra")
    mailbox_ids = set(Delivery.objects.filter(message_id=second).values_list("mailbox_id", flat=True))
    assert mailbox_ids == {mailbox_personal_for(org.handler_b1).pk}
    assert AuditEvent.objects.filter(
        action="case.assign", target_id=str(case.pk), actor__api_client__isnull=False
    ).exists()


def test_case_without_handler_routes_to_the_units_group_mailbox(org, api):
    api.put(case_url("LC-3"), body(org, handler=None, co_handlers=[]), format="json")
    case = Case.objects.get(external_id="LC-3")
    message_id = citizen_writes(case)
    assert set(Delivery.objects.filter(message_id=message_id).values_list("mailbox_id", flat=True)) == {
        org.unit_a.group_mailbox.pk
    }


def test_put_is_idempotent(org, api):
    first = api.put(case_url("LC-4"), body(org), format="json")
    events = AuditEvent.objects.exclude(action="api.call").count()

    second = api.put(case_url("LC-4"), body(org), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Case.objects.filter(external_id="LC-4").count() == 1
    assert AuditEvent.objects.exclude(action="api.call").count() == events  # nothing changed, nothing logged


def test_put_replaces_state_unit_subject_and_handlers(org, api):
    api.put(case_url("LC-5"), body(org), format="json")
    response = api.put(
        case_url("LC-5"),
        body(org, unit=org.unit_b.slug, subject="Ny rubrik", handler=None, co_handlers=[]),
        format="json",
    )
    data = response.json()
    assert response.status_code == 200
    assert (data["unit"], data["subject"], data["handler"], data["co_handlers"]) == (
        org.unit_b.slug,
        "Ny rubrik",
        None,
        [],
    )
    case = Case.objects.get(external_id="LC-5")
    assert not can_send_to_citizen(user=org.handler_a1, case=case)
    assert AuditEvent.objects.filter(action="case.update", target_id=str(case.pk)).exists()


def test_the_citizen_and_eservice_of_a_case_cannot_change(org, api):
    api.put(case_url("LC-6"), body(org), format="json")
    other = factories.eservice(org.unit_b)

    response = api.put(
        case_url("LC-6"),
        body(org, personnummer=factories.personnummer(99), eservice=other.slug),
        format="json",
    )

    assert response.status_code == 400
    assert "kan inte ändras" in response.json()["personnummer"][0]


def test_bad_input_gets_400_with_a_message_per_field(org, api):
    response = api.put(
        case_url("LC-7"),
        {
            "personnummer": "19800101-0000",
            "eservice": "finns-inte",
            "unit": "finns-inte",
            "subject": "",
            "handler": "ingen-sadan",
            "co_handlers": [org.log_reviewer.username],
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"personnummer", "eservice", "unit", "subject", "handler", "co_handlers"}
    assert "personnummer" in errors["personnummer"][0].lower()
    assert "e-tjänst" in errors["eservice"][0]
    assert org.log_reviewer.username in errors["co_handlers"][0]
    assert not Case.objects.filter(external_id="LC-7").exists()


def test_unknown_case_is_404(api):
    for url in (case_url("NOPE-1"), case_url("NOPE-1", "thread")):
        response = api.get(url)
        assert response.status_code == 404
        assert response.json()["detail"] == "Det finns inget ärende med detta externa id."
    assert api.post(case_url("NOPE-1", "close")).status_code == 404
    assert api.patch(case_url("NOPE-1"), {"subject": "x"}, format="json").status_code == 404


def test_token_without_the_right_scope_gets_403(org, make_api):
    _reader, read_only = make_api(scopes=[ApiClient.Scope.CASES_READ])
    _writer, api = make_api()
    api.put(case_url("LC-8"), body(org), format="json")

    assert read_only.get(case_url("LC-8")).status_code == 200
    refused = read_only.put(case_url("LC-8"), body(org), format="json")
    assert refused.status_code == 403
    assert "cases:write" in refused.json()["detail"]
    assert read_only.post(case_url("LC-8", "close")).status_code == 403
    assert read_only.get(case_url("LC-8", "thread"), {"content": "true"}).status_code == 403
    _writer_only, write_only = make_api(scopes=[ApiClient.Scope.CASES_WRITE])
    assert write_only.get(case_url("LC-8")).status_code == 403


def test_missing_wrong_or_revoked_token_gets_401(org, make_api, client):
    from integrations.services import api_client_revoke

    record, api = make_api()
    assert client.get(case_url("LC-9")).status_code == 401
    assert client.get(case_url("LC-9"), HTTP_AUTHORIZATION="Bearer lm.nope.nope").status_code == 401
    wrong = f"Bearer lm.{record.key_id}.not-the-secret"
    response = client.get(case_url("LC-9"), HTTP_AUTHORIZATION=wrong)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(action="api.call", target_id=str(record.pk), after__status=401).exists()
    api_client_revoke(client=record)
    assert api.get(case_url("LC-9")).status_code == 401


def test_close_is_idempotent_and_audited(org, api):
    api.put(case_url("LC-10"), body(org), format="json")
    first = api.post(case_url("LC-10", "close"))
    second = api.post(case_url("LC-10", "close"))
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "closed"
    case = Case.objects.get(external_id="LC-10")
    assert AuditEvent.objects.filter(action="case.close", target_id=str(case.pk)).count() == 1


def test_every_call_is_audited_with_its_outcome(org, make_api):
    record, api = make_api()
    api.put(case_url("LC-11"), body(org), format="json")
    api.get(case_url("LC-11"))
    api.get(case_url("NOPE"))
    calls = AuditEvent.objects.filter(action="api.call", actor=record.user).order_by("at", "id")
    assert [(c.after["method"], c.after["status"]) for c in calls] == [
        ("PUT", 201),
        ("GET", 200),
        ("GET", 404),
    ]


def test_thread_metadata_without_content_and_read_state(org, make_api):
    record, api = make_api(scopes=[ApiClient.Scope.CASES_READ, ApiClient.Scope.CASES_WRITE])
    api.put(case_url("LC-12"), body(org, co_handlers=[]), format="json")
    case = Case.objects.get(external_id="LC-12")
    first = citizen_writes(case, "Hemlig text om min situation")
    second = citizen_writes(case, "Ännu en")
    deliveries_mark_read(
        mailbox=mailbox_personal_for(org.handler_a1), thread=case.thread, user=org.handler_a1
    )
    third = citizen_writes(case, "Oläst")

    response = api.get(case_url("LC-12", "thread"))

    assert response.status_code == 200
    data = response.json()
    assert "Hemlig" not in response.content.decode()
    assert [m["id"] for m in data["messages"]] == [first, second, third]
    assert [m["sender_kind"] for m in data["messages"]] == ["citizen"] * 3
    assert [m["read_at"] is not None for m in data["messages"]] == [True, True, False]
    assert all("body" not in m for m in data["messages"])
    assert data["mailboxes"] == [
        {"mailbox_kind": "personal", "unit": None, "unread_count": 1, "handled_at": None, "handled_by": None}
    ]
    # Only the assignment the case was created with is in the log: metadata is not a read.
    assert not AccessLogEntry.objects.exclude(action=AccessLogEntry.Action.ASSIGN).exists()


def test_thread_content_needs_its_scope_and_is_in_the_access_log(org, make_api):
    record, api = make_api()
    api.put(case_url("LC-13"), body(org), format="json")
    case = Case.objects.get(external_id="LC-13")
    message_id = citizen_writes(case, "Hemlig text")

    response = api.get(case_url("LC-13", "thread"), {"content": "true"})

    assert response.status_code == 200
    assert response.json()["messages"][0]["body"] == "Hemlig text"
    assert response.json()["messages"][0]["attachments"] == []
    entry = AccessLogEntry.objects.exclude(action=AccessLogEntry.Action.ASSIGN).get()
    assert (entry.user_id, entry.action, entry.route, entry.case_id) == (
        record.user_id,
        AccessLogEntry.Action.READ_THREAD,
        AccessLogEntry.Route.API,
        case.pk,
    )
    assert entry.citizen_id == case.citizen.user_id
    assert entry.detail["message_ids"] == [message_id]


def test_api_is_english_on_request(api):
    response = api.get(case_url("NOPE"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "There is no case with this external id."


def test_protected_identity_is_set_through_the_api_only_with_the_permission(org, make_api):
    from django.contrib.auth.models import Permission

    client, http = make_api()
    response = http.put(case_url("EXT-PROT"), body(org, protected_identity=True), format="json")
    assert response.status_code == 403
    assert not Case.objects.filter(external_id="EXT-PROT").exists()
    client.user.user_permissions.add(Permission.objects.get(codename="set_protected_identity"))
    client.user.refresh_from_db()
    response = http.put(case_url("EXT-PROT"), body(org, protected_identity=True), format="json")
    assert response.status_code in (200, 201)
    assert response.json()["protected_identity"] is True
    case = Case.objects.select_related("citizen").get(external_id="EXT-PROT")
    assert case.citizen.protected_identity
    event = AuditEvent.objects.get(action="citizen.protected_identity")
    assert event.actor_id == client.user.pk and event.after["source"] == "api"
    # Leaving the field out leaves the flag as it is.
    assert http.put(case_url("EXT-PROT"), body(org), format="json").status_code == 200
    assert Case.objects.get(external_id="EXT-PROT").citizen.protected_identity
