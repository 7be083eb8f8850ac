"""Every change of a user's groups, permissions or active flag made in the Django admin is in the
change log, with who made it (issue 20, part 2)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import roles
from audit.models import AuditEvent
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    superuser = factories.staff(
        roles.SYSTEMFORVALTARE, username="root-admin", is_staff=True, is_superuser=True
    )
    return login(client, superuser), superuser


def _change_form_data(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "kind": user.kind,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(g) for g in user.groups.values_list("pk", flat=True)],
        "user_permissions": [str(p) for p in user.user_permissions.values_list("pk", flat=True)],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _post(client, user, **changes):
    url = reverse("admin:accounts_user_change", args=[user.pk])
    response = client.post(url, _change_form_data(user, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_change_of_groups_in_the_admin_writes_an_audit_event(admin_client):
    client, superuser = admin_client
    user = factories.staff(roles.HANDLAGGARE, username="handl-admin")
    reviewer_group = Group.objects.get(name=roles.LOGGRANSKARE)
    groups = [*user.groups.values_list("pk", flat=True), reviewer_group.pk]
    _post(client, user, groups=[str(pk) for pk in groups])
    event = AuditEvent.objects.get(action="user.access_change", target_id=str(user.pk))
    assert event.actor == superuser
    assert event.before == {"user": "handl-admin", "groups": [roles.HANDLAGGARE]}
    assert event.after == {"user": "handl-admin", "groups": sorted([roles.HANDLAGGARE, roles.LOGGRANSKARE])}
    assert event.reason == "Django admin"


def test_permissions_and_the_active_flag_changed_in_the_admin_are_audited(admin_client):
    client, _superuser = admin_client
    user = factories.staff(roles.HANDLAGGARE, username="handl-perm")
    perm = Permission.objects.get(codename="review_access_log")
    _post(client, user, user_permissions=[str(perm.pk)], is_active="")
    event = AuditEvent.objects.get(action="user.access_change", target_id=str(user.pk))
    assert event.after["permissions"] == ["accounts.review_access_log"]
    assert event.before["is_active"] is True and event.after["is_active"] is False
    assert "groups" not in event.after


def test_saving_the_admin_form_without_a_change_of_access_writes_nothing(admin_client):
    client, _superuser = admin_client
    user = factories.staff(roles.HANDLAGGARE, username="handl-same")
    _post(client, user, first_name="Nytt")
    assert not AuditEvent.objects.filter(action="user.access_change").exists()


def test_a_change_of_a_groups_permissions_in_the_admin_is_audited(admin_client):
    client, superuser = admin_client
    group = Group.objects.get(name=roles.HANDLAGGARE)
    perms = [
        *group.permissions.values_list("pk", flat=True),
        Permission.objects.get(codename="review_access_log").pk,
    ]
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = client.post(url, {"name": group.name, "permissions": [str(p) for p in perms]})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="group.permissions_change")
    assert event.actor == superuser
    assert "accounts.review_access_log" in event.after["permissions"]
    assert "accounts.review_access_log" not in event.before["permissions"]
