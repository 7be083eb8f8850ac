import pytest
from django.contrib.auth.models import Group

from accounts import roles

pytestmark = pytest.mark.django_db

EXPECTED = {
    "Handläggare": {"use_mailboxes", "plan_own_absence"},
    "Enhetschef": {
        "use_mailboxes",
        "plan_own_absence",
        "assign_cases",
        "view_unit_overview",
        "download_case_file_pdf",
    },
    "Administratör med särskild behörighet": {"take_sick_calls", "assign_cases"},
    "Superanvändare": {"take_sick_calls", "manage_membership", "manage_roles"},
    "Systemförvaltare": {"take_sick_calls", "manage_membership", "manage_roles", "assign_cases"},
    "Loggranskare": {"review_access_log"},
}


def test_every_role_group_exists_with_its_permissions():
    assert set(EXPECTED) == set(roles.ALL_ROLES)
    for name, codenames in EXPECTED.items():
        group = Group.objects.get(name=name)
        got = set(
            group.permissions.filter(content_type__app_label="accounts").values_list("codename", flat=True)
        )
        assert got == codenames, name


def test_only_privileged_roles_may_take_sick_calls():
    from tests.factories import staff

    for role in roles.ALL_ROLES:
        user = staff(role)
        expected = role in (roles.ADMINISTRATOR, roles.SUPERANVANDARE, roles.SYSTEMFORVALTARE)
        assert user.has_perm("accounts.take_sick_calls") is expected, role


def test_the_permission_check_brings_the_users_roles_along_in_its_one_query(django_assert_num_queries):
    """Every staff page checks a permission and shows the user's roles: both come from one query."""
    from django.contrib.auth import get_user_model

    from tests.factories import staff

    user = staff(roles.ENHETSCHEF)
    user.groups.add(Group.objects.get(name=roles.LOGGRANSKARE))
    fresh = get_user_model().objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert fresh.has_perm("accounts.view_unit_overview")
        assert fresh.has_perm("accounts.review_access_log")
        assert not fresh.has_perm("accounts.manage_roles")
        assert roles.user_group_names(fresh) == sorted([roles.ENHETSCHEF, roles.LOGGRANSKARE])


def test_a_superusers_check_also_brings_their_roles():
    from django.contrib.auth import get_user_model

    from tests.factories import staff

    user = staff(roles.SYSTEMFORVALTARE, is_superuser=True)
    fresh = get_user_model().objects.get(pk=user.pk)
    assert fresh.has_perm("accounts.review_access_log")  # every permission, as ModelBackend gives
    assert roles.user_group_names(fresh) == [roles.SYSTEMFORVALTARE]


def test_a_role_change_is_seen_by_the_same_user_object_afterwards():
    """The roles kept on the user object for the request are dropped with its permissions when a
    role changes, so the header and the access-log snapshot of the rest of the request agree."""
    from accounts.services import role_grant, role_revoke
    from tests.factories import staff

    actor = staff(roles.SUPERANVANDARE)
    user = staff(roles.HANDLAGGARE)
    assert not user.has_perm("accounts.review_access_log")
    assert roles.user_group_names(user) == [roles.HANDLAGGARE]
    role_grant(user=user, role=roles.LOGGRANSKARE, actor=actor)
    assert roles.user_group_names(user) == sorted([roles.HANDLAGGARE, roles.LOGGRANSKARE])
    assert user.has_perm("accounts.review_access_log")
    role_revoke(user=user, role=roles.HANDLAGGARE, actor=actor)
    assert roles.user_group_names(user) == [roles.LOGGRANSKARE]
    assert not user.has_perm("accounts.use_mailboxes")
