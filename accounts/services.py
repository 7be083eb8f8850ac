"""Every change of a staff member's roles goes through here, audited with before and after."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.services import audit_event_record

from .roles import ALL_ROLES, GROUP_IDS_ATTR, GROUP_NAMES_ATTR

MANAGE_ROLES_PERM = "accounts.manage_roles"


def roles_of(user) -> list[str]:
    return sorted(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))


def _forget_cached_permissions(user) -> None:
    # ModelBackend caches permissions on the instance; the caller's instance must see the change.
    for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache", GROUP_NAMES_ATTR, GROUP_IDS_ATTR):
        user.__dict__.pop(attr, None)


def _check(*, user, role: str, actor) -> None:
    if role not in ALL_ROLES:
        raise ValueError(f"Unknown role {role!r}")
    if actor is None or not actor.has_perm(MANAGE_ROLES_PERM):
        raise PermissionDenied
    if actor.pk == user.pk:
        # Separation of duties: nobody widens or narrows their own access.
        raise PermissionDenied
    if not user.is_staff_user:
        raise ValidationError("Only staff accounts have roles.", code="not_staff")


def _change(*, user, role: str, actor, grant: bool, reason: str) -> bool:
    _check(user=user, role=role, actor=actor)
    User = get_user_model()
    # Serialise concurrent changes of the same person's roles so before/after are exact.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
    before = roles_of(user)
    if (role in before) == grant:
        return False
    group = Group.objects.get(name=role)
    if grant:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    _forget_cached_permissions(user)
    audit_event_record(
        actor=actor,
        action="role.grant" if grant else "role.revoke",
        target=user,
        before={"user": user.username, "roles": before},
        after={"user": user.username, "roles": roles_of(user)},
        reason=reason,
    )
    return True


@transaction.atomic
def role_grant(*, user, role: str, actor, reason: str = "") -> bool:
    """Give `user` the role. Returns False if they already had it (nothing is recorded then)."""
    return _change(user=user, role=role, actor=actor, grant=True, reason=reason)


@transaction.atomic
def role_revoke(*, user, role: str, actor, reason: str = "") -> bool:
    """Take the role from `user`. Returns False if they did not have it."""
    return _change(user=user, role=role, actor=actor, grant=False, reason=reason)
