"""Who may manage a unit's saved replies: its unit manager(s) — staff with the unit-overview
permission (the Enhetschef role) who are members of that unit. Everyone else gets 403 before any
lookup, and another unit's reply is 404, as for every object here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from mailboxes.models import Unit

from .models import SavedReply

MANAGE = "accounts.view_unit_overview"


def require_unit_manager(user) -> None:
    if not user.is_authenticated or user.is_citizen or not user.has_perm(MANAGE):
        raise PermissionDenied


def managed_units(user):
    """The units whose saved replies `user` keeps (empty for anyone but a unit manager)."""
    if not user.has_perm(MANAGE):
        return Unit.objects.none()
    return Unit.objects.filter(memberships__user=user).order_by("name")


def access_saved_reply_to_manage(*, user, saved_reply_id: int) -> SavedReply:
    require_unit_manager(user)
    saved = (
        SavedReply.objects.select_related("unit")
        .filter(pk=saved_reply_id, unit__memberships__user=user)
        .first()
    )
    if saved is None:
        raise Http404
    return saved


def access_saved_reply_to_use(*, user, saved_reply_id: int) -> SavedReply:
    """A saved reply of one of the user's own units (404 otherwise)."""
    saved = (
        SavedReply.objects.select_related("unit")
        .filter(pk=saved_reply_id, unit__memberships__user=user)
        .first()
    )
    if saved is None:
        raise Http404
    return saved
