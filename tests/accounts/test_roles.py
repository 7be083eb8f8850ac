import pytest
from django.contrib.auth.models import Group

from accounts import roles

pytestmark = pytest.mark.django_db

EXPECTED = {
    "Handläggare": {"use_mailboxes", "plan_own_absence"},
    "Enhetschef": {"use_mailboxes", "plan_own_absence", "assign_cases", "view_unit_overview"},
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
