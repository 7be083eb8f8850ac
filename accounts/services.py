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


def permission_names(permissions) -> list[str]:
    """`app_label.codename` of each permission in a permission manager or queryset, sorted."""
    rows = permissions.values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{codename}" for app, codename in rows)


def access_snapshot(user) -> dict:
    """What decides a user's access, as the change log keeps it: groups, own permissions, flags."""
    fresh = get_user_model().objects.filter(pk=user.pk).first()
    if fresh is None:
        return {}
    return {
        "groups": sorted(fresh.groups.values_list("name", flat=True)),
        "permissions": permission_names(fresh.user_permissions),
        "is_active": fresh.is_active,
        "is_staff": fresh.is_staff,
        "is_superuser": fresh.is_superuser,
    }


def user_access_change_record(*, actor, user, before: dict, via: str) -> bool:
    """Record what changed in `user`'s access since `before` (an access_snapshot), if anything. For
    the writes that do not go through role_grant and the membership services: the Django admin."""
    after = access_snapshot(user)
    changed = sorted(key for key in after if before.get(key) != after[key])
    if not changed:
        return False
    audit_event_record(
        actor=actor,
        action="user.access_change",
        target=user,
        before={"user": user.username, **{key: before.get(key) for key in changed}},
        after={"user": user.username, **{key: after[key] for key in changed}},
        reason=via,
    )
    return True


def group_permissions_change_record(*, actor, group, before: list[str], via: str) -> bool:
    """Record a change of a group's permissions (it changes the access of every member)."""
    after = permission_names(group.permissions)
    if after == before:
        return False
    audit_event_record(
        actor=actor,
        action="group.permissions_change",
        target=group,
        before={"group": group.name, "permissions": before},
        after={"group": group.name, "permissions": after},
        reason=via,
    )
    return True
