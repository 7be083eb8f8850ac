"""Membership UI: units with their group mailbox and members, add and remove (access follows at once),
every change audited, stray access found and removed, CSV and print for the periodic review."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from guardian.shortcuts import assign_perm

from administration.services import unit_member_add
from audit.models import AuditEvent
from mailboxes.models import UnitMembership
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

User = get_user_model()


def _can_open_group_mailbox(user, unit) -> bool:
    # A fresh user object, as the next request would load it.
    return User.objects.get(pk=user.pk).has_perm("mailboxes.access_mailbox", unit.group_mailbox)


def test_units_page_lists_each_unit_with_its_group_mailbox_and_members(client, org):
    login(client, org.superuser)
    response = client.get(reverse("administration:units"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enheter och medarbetare" in body
    assert org.unit_a.group_mailbox.name in body
    assert "3 medarbetare" in body  # unit A: two handlers and the manager
    assert "Anna Andersson" in body and "Cilla Carlsson" in body


def test_units_page_query_count_is_flat(client, org, django_assert_max_num_queries):
    login(client, org.sysadmin)
    url = reverse("administration:units")
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for _n in range(4):
        unit = factories.unit()
        for _ in range(3):
            factories.staff(units=(unit,))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_unit_page_query_count_is_flat(client, org, django_assert_max_num_queries):
    login(client, org.sysadmin)
    url = reverse("administration:unit", args=[org.unit_b.pk])
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for _ in range(6):
        factories.staff(units=(org.unit_b, org.unit_a))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_adding_a_member_gives_group_mailbox_access_and_is_audited(client, org):
    newcomer = factories.staff(first_name="Nora", last_name="Ny")
    assert not _can_open_group_mailbox(newcomer, org.unit_a)
    login(client, org.superuser)
    response = client.post(reverse("administration:member_add", args=[org.unit_a.pk]), {"user": newcomer.pk})
    assert response.status_code == 302
    assert UnitMembership.objects.filter(unit=org.unit_a, user=newcomer).exists()
    assert _can_open_group_mailbox(newcomer, org.unit_a)
    event = AuditEvent.objects.get(action="membership.add", after__user=newcomer.username)
    assert event.actor == org.superuser
    assert event.target_id == str(org.unit_a.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Nora Ny tillhör nu IFO Testenhet A" in page


def test_a_citizen_or_a_current_member_cannot_be_added(client, org):
    citizen = factories.citizen()
    login(client, org.superuser)
    url = reverse("administration:member_add", args=[org.unit_a.pk])
    for user in (citizen.user, org.handler_a1):
        response = client.post(url, {"user": user.pk})
        assert response.status_code == 400
        assert "Välj vem som ska läggas till" in response.content.decode()
    assert not UnitMembership.objects.filter(user=citizen.user).exists()


def test_service_refuses_membership_for_a_citizen_account(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        unit_member_add(unit=org.unit_a, user=factories.citizen().user, actor=org.superuser)


def test_the_add_form_offers_staff_who_are_not_yet_members(client, org):
    login(client, org.superuser)
    body = client.get(reverse("administration:unit", args=[org.unit_a.pk])).content.decode()
    form = body[body.index('id="id_user"') :]
    form = form[: form.index("</select>")]
    assert "Carlsson, Cilla" in form
    assert "Andersson, Anna" not in form


def test_removing_a_member_asks_first_then_revokes_access_at_once_and_is_audited(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2)
    assert case
    login(client, org.superuser)
    url = reverse("administration:member_remove", args=[org.unit_a.pk, org.handler_a2.pk])
    confirm = client.get(url).content.decode()
    assert "Ta bort Bo Berg från IFO Testenhet A?" in confirm
    assert "1 öppet ärende" in confirm
    assert _can_open_group_mailbox(org.handler_a2, org.unit_a)
    response = client.post(url)
    assert response.status_code == 302
    assert not UnitMembership.objects.filter(unit=org.unit_a, user=org.handler_a2).exists()
    assert not _can_open_group_mailbox(org.handler_a2, org.unit_a)
    event = AuditEvent.objects.get(action="membership.remove")
    assert event.actor == org.superuser and event.before == {"user": org.handler_a2.username}
    page = client.get(reverse("administration:unit", args=[org.unit_a.pk])).content.decode()
    changes = page[page.index("changes-heading") :]
    assert "Medarbetare borttagen" in changes and "Fia Falk" in changes


def test_removing_a_member_also_removes_a_personal_permission_on_the_group_mailbox(client, org):
    assign_perm("mailboxes.access_mailbox", org.handler_a2, org.unit_a.group_mailbox)
    login(client, org.superuser)
    client.post(reverse("administration:member_remove", args=[org.unit_a.pk, org.handler_a2.pk]))
    assert not _can_open_group_mailbox(org.handler_a2, org.unit_a)
    event = AuditEvent.objects.get(action="mailbox_access.revoke")
    assert event.before == {"direct_permissions_removed": [org.handler_a2.username]}


def test_removing_someone_who_is_not_a_member_is_404(client, org):
    login(client, org.superuser)
    url = reverse("administration:member_remove", args=[org.unit_a.pk, org.handler_b1.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert client.get(reverse("administration:unit", args=[999999])).status_code == 404


def test_access_outside_membership_is_shown_and_can_be_set_right(client, org):
    # What someone could do in the Django admin: put a user of unit B into unit A's access group, and
    # grant a role group a permission on the mailbox.
    org.handler_b1.groups.add(org.unit_a.group_mailbox.access_group)
    from django.contrib.auth.models import Group

    assign_perm("mailboxes.access_mailbox", Group.objects.get(name="Enhetschef"), org.unit_a.group_mailbox)
    assert _can_open_group_mailbox(org.handler_b1, org.unit_a)
    login(client, org.sysadmin)
    page = client.get(reverse("administration:unit", args=[org.unit_a.pk])).content.decode()
    assert "Åtkomst som inte följer medlemskapet" in page
    assert "Cilla Carlsson" in page[page.index("stray-heading") : page.index("members-heading")]
    client.post(reverse("administration:access_reset", args=[org.unit_a.pk]))
    assert not _can_open_group_mailbox(org.handler_b1, org.unit_a)
    assert _can_open_group_mailbox(org.handler_a1, org.unit_a)
    event = AuditEvent.objects.get(action="mailbox_access.revoke")
    assert event.actor == org.sysadmin
    assert event.before["removed_from_access_group"] == [org.handler_b1.username]
    assert event.before["group_permissions_removed"] == ["Enhetschef"]
    page = client.get(reverse("administration:unit", args=[org.unit_a.pk])).content.decode()
    assert "Åtkomst som inte följer medlemskapet" not in page


def test_unit_member_list_exports_as_csv_with_roles(client, org):
    login(client, org.superuser)
    response = client.get(reverse("administration:unit_export", args=[org.unit_a.pk]))
    text = b"".join(response.streaming_content).decode()
    lines = text.lstrip("\ufeff").strip().splitlines()
    assert (
        lines[0]
        == "Enhet;Gruppbrevlåda;Användarnamn;Efternamn;Förnamn;Roller;Medlem sedan;Konto;Tillhör även"
    )
    assert len(lines) == 4
    assert any(
        line.startswith("IFO Testenhet A;IFO Testenhet A;") and ";Dahl;Dora;Enhetschef;" in line
        for line in lines
    )


def test_all_units_export_lists_someone_in_two_units_twice(client, org):
    factories.staff(units=(org.unit_a, org.unit_b), first_name="Tvåa", last_name="Tvåsson")
    login(client, org.superuser)
    text = b"".join(client.get(reverse("administration:units_export")).streaming_content).decode()
    rows = [line for line in text.splitlines() if "Tvåsson" in line]
    assert len(rows) == 2
    assert rows[0].endswith("IFO Testenhet B") and rows[1].endswith("IFO Testenhet A")


def test_unit_page_prints_as_a_signed_access_review(client, org):
    login(client, org.superuser)
    body = client.get(reverse("administration:unit", args=[org.unit_a.pk])).content.decode()
    assert "Genomgång av behörigheter. Utskriven" in body and "av Fia Falk" in body
    assert "Granskad av (namn och underskrift)" in body
    assert "data-print" in body
    from django.contrib.staticfiles import finders

    css = Path(finders.find("css/app.css")).read_text()
    assert "@media print" in css and ".print-only { display: block; }" in css


@pytest.mark.parametrize("who", ["handler_a1", "manager_a", "admin", "log_reviewer"])
def test_roles_without_membership_management_get_403(client, org, who):
    login(client, getattr(org, who))
    a = org.unit_a.pk
    for url in (
        reverse("administration:units"),
        reverse("administration:units_export"),
        reverse("administration:unit", args=[a]),
        reverse("administration:unit_export", args=[a]),
        reverse("administration:member_remove", args=[a, org.handler_a2.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(reverse("administration:member_add", args=[a]), {"user": org.handler_b1.pk}).status_code
        == 403
    )
    assert (
        client.post(reverse("administration:member_remove", args=[a, org.handler_a2.pk])).status_code == 403
    )
    assert client.post(reverse("administration:access_reset", args=[a])).status_code == 403
    assert UnitMembership.objects.filter(unit=org.unit_a, user=org.handler_a2).exists()
    assert not UnitMembership.objects.filter(unit=org.unit_a, user=org.handler_b1).exists()


def test_landing_page_links_the_membership_tool_for_superusers(client, org):
    login(client, org.superuser)
    body = client.get(reverse("accounts:home")).content.decode()
    assert reverse("administration:units") in body
    login(client, org.handler_a1)
    assert reverse("administration:units") not in client.get(reverse("accounts:home")).content.decode()


def _citizen_message_in_group_mailbox(org):
    from absence.routing import route_message
    from eservices.services import citizen_message_send

    case = factories.case(eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan"))
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej! Jag vill ansöka.")
    route_message(message_id=message.pk)
    return case


def test_a_removed_member_gets_404_on_the_group_mailbox_in_the_very_next_request(org):
    from django.test import Client

    case = _citizen_message_in_group_mailbox(org)
    mailbox = org.unit_a.group_mailbox
    mailbox_url = reverse("mailboxes:mailbox", args=[mailbox.pk])
    thread_url = reverse("mailboxes:thread", args=[mailbox.pk, case.thread_id])
    member = login(Client(), org.handler_a2)
    assert member.get(mailbox_url).status_code == 200
    assert member.get(thread_url).status_code == 200

    superuser = login(Client(), org.superuser)
    superuser.post(reverse("administration:member_remove", args=[org.unit_a.pk, org.handler_a2.pk]))

    # Same session, next request: the group mailbox and its threads are gone for them.
    assert member.get(mailbox_url).status_code == 404
    assert member.get(thread_url).status_code == 404
    assert mailbox.name not in member.get(reverse("mailboxes:index")).content.decode()
    event = AuditEvent.objects.get(action="membership.remove")
    assert (event.actor, event.before) == (org.superuser, {"user": org.handler_a2.username})
