"""Protected identity (skyddad identitet): set and cleared only with its own permission, audited;
such a citizen's threads are read by named staff only and show no name in lists or search hits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from eservices.models import Citizen
from eservices.services import citizen_protected_identity_set
from tests.conftest import login
from tests.mailboxes.conftest import group, personal

pytestmark = pytest.mark.django_db


def _set_url(case) -> str:
    return reverse("eservices:staff_case_protection", args=[case.pk])


def _protect(case, org) -> None:
    citizen_protected_identity_set(citizen=case.citizen, protected=True, actor=org.admin, reason="Beslut")


@pytest.mark.parametrize("who", ["handler_a1", "manager_a", "superuser"])
def test_setting_the_flag_without_the_permission_is_refused(client, org, citizen_case, who):
    login(client, getattr(org, who))
    response = client.post(_set_url(citizen_case), {"protected": "on", "reason": "Jag tror det"})
    assert response.status_code == 403
    assert not Citizen.objects.get(pk=citizen_case.citizen.pk).protected_identity
    assert not AuditEvent.objects.filter(action="citizen.protected_identity").exists()


@pytest.mark.parametrize("who", ["admin", "sysadmin"])
def test_the_flag_is_set_and_cleared_through_the_staff_page_and_audited(client, org, citizen_case, who):
    actor = getattr(org, who)
    login(client, actor)
    assert client.get(_set_url(citizen_case)).status_code == 200
    response = client.post(_set_url(citizen_case), {"protected": "on"})
    assert response.status_code == 400
    assert "Ange varför skyddet sätts eller tas bort." in response.content.decode()
    response = client.post(_set_url(citizen_case), {"protected": "on", "reason": "Beslut från Skatteverket"})
    assert response.status_code == 302
    assert Citizen.objects.get(pk=citizen_case.citizen.pk).protected_identity
    response = client.post(_set_url(citizen_case), {"reason": "Skyddet har upphört"})
    assert not Citizen.objects.get(pk=citizen_case.citizen.pk).protected_identity
    events = list(AuditEvent.objects.filter(action="citizen.protected_identity").order_by("id"))
    assert [(e.actor_id, e.after["protected_identity"], e.after["source"], e.reason) for e in events] == [
        (actor.pk, True, "ui", "Beslut från Skatteverket"),
        (actor.pk, False, "ui", "Skyddet har upphört"),
    ]


def test_a_group_member_cannot_open_a_protected_citizens_thread(client, org, unassigned_case):
    url = reverse("mailboxes:thread", args=[group(org.unit_a).pk, unassigned_case.thread_id])
    login(client, org.handler_a2)
    assert client.get(url).status_code == 200
    _protect(unassigned_case, org)
    assert client.get(url).status_code == 404
    export = reverse("integrations:export_thread", args=[unassigned_case.thread_id])
    assert client.get(export).status_code == 404


def test_handler_and_co_handler_still_read_a_protected_citizens_thread(client, org, citizen_case):
    from eservices.services import case_assign

    case_assign(case=citizen_case, handler=org.handler_a1, co_handlers=[org.handler_a2], actor=org.manager_a)
    _protect(citizen_case, org)
    login(client, org.handler_a1)
    url = reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, citizen_case.thread_id])
    page = client.get(url).content.decode()
    assert "Skyddad identitet" in page and "protected-banner" in page
    login(client, org.handler_a2)
    assert client.get(reverse("mailboxes:case_thread", args=[citizen_case.pk])).status_code == 200


def test_lists_and_search_hits_show_no_name_of_a_protected_citizen(client, org, citizen_case):
    _protect(citizen_case, org)
    login(client, org.handler_a1)
    listing = client.get(reverse("mailboxes:mailbox", args=[personal(org.handler_a1).pk])).content.decode()
    assert "Medborgarsson" not in listing and "Skyddad identitet" in listing
    hits = client.get(reverse("mailboxes:search"), {"q": "Ansökan"}).content.decode()
    assert "Ansökan om stöd" in hits
    assert "Medborgarsson" not in hits and "Skyddad identitet" in hits


def test_forwarding_a_protected_citizens_thread_to_a_group_mailbox_is_refused(client, org, citizen_case):
    _protect(citizen_case, org)
    login(client, org.handler_a1)
    url = reverse("mailboxes:forward", args=[personal(org.handler_a1).pk, citizen_case.thread_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"target": group(org.unit_a).pk, "note": "Ta över"}).status_code == 403
    assert not citizen_case.thread.mailbox_summaries.filter(mailbox=group(org.unit_a)).exists()


def test_the_citizen_portal_explains_protected_identity_to_those_who_have_it(client, org, citizen_case):
    citizen = citizen_case.citizen
    client.force_login(citizen.user, backend="accounts.backends.ModelBackend")
    assert "Du har skyddad identitet" not in client.get(reverse("eservices:portal")).content.decode()
    _protect(citizen_case, org)
    page = client.get(reverse("eservices:portal")).content.decode()
    assert "Du har skyddad identitet" in page and "gemensam gruppbrevlåda" in page
