"""Staff: assigning handlers and co-handlers to cases (/arenden/). Unit managers for their own units'
cases, roles with eservices.assign_any_case for every unit (see eservices.permissions)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from absence.selectors import active_absences_for

from . import selectors
from .forms import CaseAssignForm, CaseFilterForm, ProtectedIdentityForm
from .permissions import (
    access_case_for_assignment,
    access_case_for_protection,
    assignment_units,
    can_assign_in_every_unit,
    require_assign_permission,
)
from .services import AssignmentConflict, assignment_token, case_assign, citizen_protected_identity_set

PAGE_SIZE = 50


@never_cache
@login_required
def case_list(request):
    require_assign_permission(request.user)
    units = assignment_units(request.user).order_by("name")
    form = CaseFilterForm(request.GET or None, units=units)
    filters = selectors.CaseFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.CaseFilters(
            unit_id=data["unit"].pk if data["unit"] else None,
            eservice_id=data["eservice"].pk if data["eservice"] else None,
            without_handler=data["without_handler"],
            query=data["q"] or "",
        )
    if can_assign_in_every_unit(request.user):
        form.fields["unit"].empty_label = _("All units")
    page = Paginator(selectors.staff_cases(user=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "eservices/staff/case_list.html",
        {
            "form": form,
            "page": page,
            "querystring": params.urlencode(),
            "current_url": request.get_full_path(),
            "filtered": filters != selectors.CaseFilters(),
        },
    )


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith(reverse("eservices:staff_cases"))
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return None


@never_cache
@login_required
def case_assign_view(request, case_id: int):
    case = access_case_for_assignment(user=request.user, case_id=case_id)
    members = list(selectors.unit_members(unit=case.unit))
    current_ids = set(case.co_handlers.values_list("pk", flat=True)) | {case.handler_id}
    away_ids = set(active_absences_for({m.pk for m in members} | (current_ids - {None})))
    token = assignment_token(case)
    form_kwargs = {"case": case, "members": members, "away_ids": away_ids, "token": token}
    form = CaseAssignForm(request.POST or None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case_assign(
                case=case,
                handler=data["handler"],
                co_handlers=data["co_handlers"],
                actor=request.user,
                reason=data["reason"],
                expected_token=data["token"],
            )
        except AssignmentConflict:
            # Keep what this user chose, against the new state: they check it and save again.
            case.refresh_from_db()
            fresh = request.POST.copy()
            fresh["token"] = assignment_token(case)
            form = CaseAssignForm(fresh, **{**form_kwargs, "token": fresh["token"]})
            form.is_valid()
            form.add_error(
                None,
                _(
                    "Someone else changed the handlers of this case while you were editing. The current "
                    "handlers are shown above; check your choice and save again."
                ),
            )
        else:
            messages.success(
                request, _("Handlers saved for case %(reference)s.") % {"reference": case.reference}
            )
            return redirect(_safe_next(request) or reverse("eservices:staff_cases"))
    return render(
        request,
        "eservices/staff/case_assign.html",
        {
            "case": case,
            "form": form,
            "members": members,
            "history": selectors.case_assignment_history(case=case),
            "next": _safe_next(request) or "",
        },
    )


@never_cache
@login_required
def case_protection_view(request, case_id: int):
    """Set or clear the protected identity of the case's citizen (every case of theirs follows)."""
    case = access_case_for_protection(user=request.user, case_id=case_id)
    form = ProtectedIdentityForm(request.POST or None, initial={"protected": case.citizen.protected_identity})
    if request.method == "POST" and form.is_valid():
        citizen_protected_identity_set(
            citizen=case.citizen,
            protected=form.cleaned_data["protected"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("Saved. The change is recorded in the log."))
        return redirect("eservices:staff_case_protection", case_id=case.pk)
    return render(
        request,
        "eservices/staff/case_protection.html",
        {"case": case, "form": form},
        status=400 if form.errors else 200,
    )
