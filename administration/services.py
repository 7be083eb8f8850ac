"""Membership and role changes made in the administration UI. Membership goes through
mailboxes.services (which keeps the group-mailbox access group in step and audits), roles through
accounts.services; this layer checks who may do it and keeps group-mailbox access exact."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.roles import ALL_ROLES
from accounts.services import role_grant, role_revoke, roles_of
from mailboxes.models import Unit, UnitMembership
from mailboxes.services.units import group_mailbox_access_reset, membership_add, membership_remove

from .permissions import MANAGE_MEMBERSHIP, MANAGE_ROLES


def _require(actor, perm: str) -> None:
    if actor is None or actor.is_citizen or not actor.has_perm(perm):
        raise PermissionDenied


@transaction.atomic
def unit_member_add(*, unit: Unit, user, actor) -> UnitMembership:
    _require(actor, MANAGE_MEMBERSHIP)
    if not user.is_staff_user or not user.is_active:
        raise ValidationError(_("Only active staff accounts can be members of a unit."), code="not_staff")
    return membership_add(unit=unit, user=user, actor=actor)


@transaction.atomic
def unit_member_remove(*, unit: Unit, user, actor) -> None:
    """Remove the membership and with it every way into the unit's group mailbox, at once: the next
    request the person makes no longer reaches it."""
    _require(actor, MANAGE_MEMBERSHIP)
    membership_remove(unit=unit, user=user, actor=actor)
    group_mailbox_access_reset(unit=unit, user=user, actor=actor, reason="Removed from the unit")


@transaction.atomic
def unit_access_reset(*, unit: Unit, actor) -> dict[str, list[str]]:
    """Take away group-mailbox access that is not membership, and restore it to members who lack it."""
    _require(actor, MANAGE_MEMBERSHIP)
    return group_mailbox_access_reset(
        unit=unit, actor=actor, reason="Access set to the unit's membership in the administration UI"
    )


@transaction.atomic
def staff_roles_set(*, user, roles: Iterable[str], actor, reason: str = "") -> tuple[list[str], list[str]]:
    """Give and take roles so that `user` has exactly `roles`; each change is its own audit event.
    Returns (given, taken)."""
    _require(actor, MANAGE_ROLES)
    wanted = set(roles)
    unknown = wanted - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"Unknown roles {sorted(unknown)}")
    current = set(roles_of(user))
    given = sorted(wanted - current)
    taken = sorted(current - wanted)
    for role in given:
        role_grant(user=user, role=role, actor=actor, reason=reason)
    for role in taken:
        role_revoke(user=user, role=role, actor=actor, reason=reason)
    return given, taken
