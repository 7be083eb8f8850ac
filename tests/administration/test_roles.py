"""Giving and taking roles: only superusers and system administrators, never their own, always audited
with before and after, effective on the next request."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts import roles
from accounts.services import role_grant, role_revoke
from audit.models import AuditEvent
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

User = get_user_model()


def _fresh(user):
    return User.objects.get(pk=user.pk)


def test_superuser_gives_a_role_and_it_takes_effect_and_is_audited(client, org):
    login(client, org.superuser)
    url = reverse("administration:staff_member", args=[org.handler_a1.pk])
    response = client.post(
        url, {"roles": [roles.HANDLAGGARE, roles.LOGGRANSKARE], "reason": "Beslut 2026-14, ersätter H. Holm"}
    )
    assert response.status_code == 302
    assert _fresh(org.handler_a1).has_perm("accounts.review_access_log")
    event = AuditEvent.objects.get(action="role.grant")
    assert event.actor == org.superuser
    assert event.target_type == "accounts.user" and event.target_id == str(org.handler_a1.pk)
    assert event.before == {"user": org.handler_a1.username, "roles": [roles.HANDLAGGARE]}
    assert event.after == {"user": org.handler_a1.username, "roles": [roles.HANDLAGGARE, roles.LOGGRANSKARE]}
    assert event.reason == "Beslut 2026-14, ersätter H. Holm"
    page = client.get(url).content.decode()
    assert "Rollerna för Anna Andersson har ändrats" in page
    assert "Roll tilldelad" in page and "Beslut 2026-14" in page


def test_taking_a_role_removes_the_permission_at_once(client, org):
    login(client, org.sysadmin)
    client.post(reverse("administration:staff_member", args=[org.log_reviewer.pk]), {"roles": []})
    assert not _fresh(org.log_reviewer).has_perm("accounts.review_access_log")
    event = AuditEvent.objects.get(action="role.revoke")
    assert event.before["roles"] == [roles.LOGGRANSKARE] and event.after["roles"] == []
    login(client, org.log_reviewer)
    assert client.get(reverse("audit:search")).status_code == 403


def test_saving_unchanged_roles_records_nothing(client, org):
    login(client, org.superuser)
    client.post(
        reverse("administration:staff_member", args=[org.handler_a1.pk]), {"roles": [roles.HANDLAGGARE]}
    )
    assert not AuditEvent.objects.filter(action__startswith="role.").exists()


def test_nobody_changes_their_own_roles(client, org):
    login(client, org.superuser)
    url = reverse("administration:staff_member", args=[org.superuser.pk])
    page = client.get(url).content.decode()
    assert "Du kan inte ändra dina egna roller" in page
    assert 'name="roles"' not in page
    assert client.post(url, {"roles": [roles.SUPERANVANDARE, roles.LOGGRANSKARE]}).status_code == 403
    assert not _fresh(org.superuser).has_perm("accounts.review_access_log")
    with pytest.raises(PermissionDenied):
        role_grant(user=org.superuser, role=roles.LOGGRANSKARE, actor=org.superuser)


def test_role_services_refuse_unknown_roles_citizens_and_actors_without_the_permission(org):
    with pytest.raises(ValueError):
        role_grant(user=org.handler_a1, role="Gud", actor=org.superuser)
    with pytest.raises(ValidationError):
        role_grant(user=factories.citizen().user, role=roles.HANDLAGGARE, actor=org.superuser)
    with pytest.raises(PermissionDenied):
        role_revoke(user=org.handler_a2, role=roles.HANDLAGGARE, actor=org.manager_a)
    with pytest.raises(PermissionDenied):
        role_grant(user=org.handler_a2, role=roles.LOGGRANSKARE, actor=None)
    assert not AuditEvent.objects.filter(action__startswith="role.").exists()


def test_a_citizen_is_not_reachable_in_staff_administration(client, org):
    citizen = factories.citizen()
    login(client, org.superuser)
    assert client.get(reverse("administration:staff_member", args=[citizen.user_id])).status_code == 404
    assert (
        client.post(reverse("administration:staff_member", args=[citizen.user_id]), {"roles": []}).status_code
        == 404
    )
    assert client.get(reverse("administration:staff_member", args=[999999])).status_code == 404
    listing = client.get(reverse("administration:staff")).content.decode()
    assert str(citizen) not in listing


def test_staff_list_filters_by_name_and_role(client, org):
    login(client, org.superuser)
    body = client.get(reverse("administration:staff"), {"role": roles.LOGGRANSKARE}).content.decode()
    assert "1 person" in body and "Hans Holm" in body
    body = client.get(reverse("administration:staff"), {"q": "cilla"}).content.decode()
    assert "Cilla Carlsson" in body and "IFO Testenhet B" in body and "Anna Andersson" not in body


def test_staff_list_query_count_is_flat(client, org, django_assert_max_num_queries):
    login(client, org.superuser)
    url = reverse("administration:staff")
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for _ in range(8):
        factories.staff(units=(org.unit_a, org.unit_b))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


@pytest.mark.parametrize("who", ["handler_a1", "manager_a", "admin", "log_reviewer"])
def test_roles_without_role_management_get_403(client, org, who):
    login(client, getattr(org, who))
    assert client.get(reverse("administration:staff")).status_code == 403
    url = reverse("administration:staff_member", args=[org.handler_b1.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"roles": [roles.SYSTEMFORVALTARE]}).status_code == 403
    assert not _fresh(org.handler_b1).has_perm("accounts.manage_roles")
