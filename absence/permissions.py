"""Who may do what with absences, checked on the server in one place."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Absence

PLAN_OWN = "accounts.plan_own_absence"
TAKE_SICK_CALLS = "accounts.take_sick_calls"
VIEW_UNIT_OVERVIEW = "accounts.view_unit_overview"


def require_perm(user, perm: str) -> None:
    """A missing role permission is a 403 (the page exists, the role does not reach it)."""
    if not user.is_authenticated or user.is_citizen or not user.has_perm(perm):
        raise PermissionDenied


def access_own_absence(*, user, absence_id: int) -> Absence:
    """One of the user's own absences; 404 alike for missing and someone else's."""
    absence = (
        Absence.objects.select_related("handler", "forward_to", "set_by", "ended_by")
        .filter(pk=absence_id, handler=user)
        .first()
    )
    if absence is None:
        raise Http404
    return absence


def access_absence_for_sick_calls(*, user, absence_id: int) -> Absence:
    """Any staff member's absence, for those who take sick calls (403 for anyone else)."""
    require_perm(user, TAKE_SICK_CALLS)
    absence = (
        Absence.objects.select_related("handler", "forward_to", "set_by", "ended_by")
        .filter(pk=absence_id)
        .first()
    )
    if absence is None:
        raise Http404
    return absence


def can_see_reason(user, absence: Absence) -> bool:
    """The reason is for those who may set absences: sick-call takers, and whoever set this one."""
    return user.has_perm(TAKE_SICK_CALLS) or absence.set_by_id == user.pk
