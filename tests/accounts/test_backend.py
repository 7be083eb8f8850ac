"""accounts.backends.ModelBackend: the session's user comes with their permissions and groups in one
query, answers exactly as Django's ModelBackend does, and a change shows on the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts import roles
from accounts.backends import ModelBackend
from tests import factories
from tests.conftest import role_group

pytestmark = pytest.mark.django_db


@pytest.mark.fast_path
def test_the_user_comes_with_permissions_and_groups_in_one_query(django_assert_num_queries):
    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    group_ids = sorted(handler.groups.values_list("id", flat=True))
    group_names = sorted(handler.groups.values_list("name", flat=True))
    assert group_ids
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(handler.pk)
        assert user.has_perm("accounts.use_mailboxes")
        assert not user.has_perm("accounts.manage_roles")
        assert roles.known_group_ids(user) == group_ids
        assert roles.user_group_names(user) == group_names


def test_it_answers_as_djangos_model_backend_for_every_role():
    from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

    codenames = [
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    ]
    for role in roles.ALL_ROLES:
        staff = factories.staff(role)
        staff.user_permissions.add(Permission.objects.get(codename="view_unit"))
        ours = ModelBackend().get_user(staff.pk)
        django_user = DjangoModelBackend().get_user(staff.pk)
        assert ours.get_all_permissions() == DjangoModelBackend().get_all_permissions(django_user), role
        assert {c for c in codenames if ours.has_perm(c)} == DjangoModelBackend().get_all_permissions(
            django_user
        ), role


def test_a_role_taken_away_is_gone_on_the_next_request():
    manager = factories.staff(roles.ENHETSCHEF, units=(factories.unit(),))
    client = Client()
    client.force_login(manager)
    assert client.get(reverse("mailboxes:index")).status_code == 200
    manager.groups.remove(role_group(roles.ENHETSCHEF))
    assert client.get(reverse("mailboxes:index")).status_code == 403


def test_superusers_have_every_permission_and_inactive_users_no_session():
    admin = factories.staff(roles.LOGGRANSKARE, is_superuser=True)
    user = ModelBackend().get_user(admin.pk)
    assert user.has_perm("accounts.use_mailboxes") and user.has_perm("eservices.assign_any_case")
    gone = factories.staff(roles.HANDLAGGARE, is_active=False)
    assert ModelBackend().get_user(gone.pk) is None
    assert ModelBackend().get_user(987654321) is None
