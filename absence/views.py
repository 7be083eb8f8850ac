"""Min frånvaro (own absences), Sjukanmälan / vidarebefordran (sick calls) and the unit overview.
Views parse input, check access on the server, call one service or selector, and render."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.idle import idle_passive

from . import selectors, services
from .forms import OwnAbsenceForm, SickCallForm, StaffSearchForm
from .models import Absence
from .permissions import (
    PLAN_OWN,
    TAKE_SICK_CALLS,
    VIEW_UNIT_OVERVIEW,
    access_absence_for_sick_calls,
    access_own_absence,
    can_see_reason,
    require_perm,
)

# After an absence someone else switched on, the handler is told who did it for this long.
RETURN_NOTICE_PERIOD = timedelta(days=14)


def _add_service_error(form, error: ValidationError) -> None:
    for message in error.messages:
        form.add_error(None, message)


def _texts(absence: Absence) -> dict:
    return {
        "absence": absence,
        "citizen_text": services.citizen_away_text(absence),
        "colleague_text": services.colleague_away_text(absence),
    }


# --- Min frånvaro ----------------------------------------------------------------------------------


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, PLAN_OWN)
    now = timezone.now()
    form = OwnAbsenceForm(request.POST or None, handler=request.user, now=now)
    preview = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "preview":
            preview = _texts(form.preview_absence())
        else:
            try:
                absence = services.absence_create(
                    handler=request.user,
                    actor=request.user,
                    kind=Absence.Kind.PLANNED,
                    now=now,
                    **form.service_kwargs(),
                )
            except ValidationError as error:
                _add_service_error(form, error)
            else:
                if absence.is_active(timezone.now()):
                    messages.success(request, _("Your absence has begun. Your messages are now forwarded."))
                else:
                    messages.success(request, _("Your absence is planned. Forwarding starts by itself."))
                return redirect("absence:mine")
    return _render_mine(request, form=form, preview=preview, now=now)


def _render_mine(request, *, form, preview, now, editing: Absence | None = None, status: int = 200):
    own = selectors.own_absences(user=request.user, when=now)
    for absence in [*own.current, *own.upcoming, *own.past]:
        absence.reason_visible = can_see_reason(request.user, absence)
    latest = own.past[0] if own.past else None
    return_notice = (
        latest
        if latest is not None
        and not own.current
        and latest.set_by_someone_else
        and latest.effective_end is not None
        and latest.effective_end > now - RETURN_NOTICE_PERIOD
        else None
    )
    context = {
        "form": form,
        "preview": preview,
        "editing": editing,
        # Not "current": base.html binds that name to the language code.
        "away_now": [_texts(a) for a in own.current],
        "away_planned": [_texts(a) for a in own.upcoming],
        "past": own.past,
        "has_targets": bool(form.targets),
        "return_notice": return_notice,
    }
    return render(request, "absence/mine.html", context, status=status)


@login_required
def mine_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, PLAN_OWN)
    absence = access_own_absence(user=request.user, absence_id=pk)
    now = timezone.now()
    if not (absence.is_active(now) or absence.is_upcoming(now)):
        messages.error(request, _("This absence has ended and can no longer be changed."))
        return redirect("absence:mine")
    form = OwnAbsenceForm(request.POST or None, handler=request.user, instance=absence, now=now)
    preview = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "preview":
            preview = _texts(form.preview_absence())
        else:
            changes = form.service_kwargs()
            if form.started:
                changes.pop("starts_at")
            try:
                services.absence_update(absence=absence, actor=request.user, now=now, **changes)
            except ValidationError as error:
                _add_service_error(form, error)
            else:
                messages.success(request, _("Your absence has been changed."))
                return redirect("absence:mine")
    return _render_mine(request, form=form, preview=preview, now=now, editing=absence)


@login_required
@require_POST
def mine_end(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, PLAN_OWN)
    absence = access_own_absence(user=request.user, absence_id=pk)
    try:
        ended = services.absence_end(absence=absence, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if ended.ended_at < ended.starts_at:
            messages.success(request, _("The planned absence has been cancelled."))
        else:
            messages.success(
                request, _("Your absence has ended. New messages come to your own mailbox again.")
            )
    return redirect("absence:mine")


@login_required
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """What happened to my messages while I was away: where each went and who handled it."""
    require_perm(request.user, PLAN_OWN)
    absence = access_own_absence(user=request.user, absence_id=pk)
    copies = selectors.forwarded_during(absence=absence)
    absence.reason_visible = can_see_reason(request.user, absence)
    return render(
        request,
        "absence/mine_detail.html",
        {"absence": absence, "copies": copies},
    )


# --- Sjukanmälan / vidarebefordran ---------------------------------------------------------------


@login_required
def sick_call(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, TAKE_SICK_CALLS)
    now = timezone.now()
    search = StaffSearchForm(request.GET or None)
    results = []
    if search.is_valid() and search.cleaned_data["q"]:
        results = list(selectors.staff_search(search.cleaned_data["q"]))
    handler = None
    handler_id = request.POST.get("handler") or request.GET.get("handler")
    if handler_id:
        try:
            handler = selectors.staff_for_sick_call(int(handler_id))
        except ValueError:
            handler = None
        if handler is None:
            raise Http404
    form = None
    current = None
    if handler is not None:
        current = selectors.active_absences_for([handler.pk], now).get(handler.pk)
        form = SickCallForm(request.POST or None, handler=handler, now=now)
        if request.method == "POST" and form.is_valid():
            try:
                absence = services.absence_create(
                    handler=handler,
                    actor=request.user,
                    kind=Absence.Kind.UNPLANNED,
                    starts_at=now,
                    ends_at=form.ends_at(),
                    forward_to=form.cleaned_data["forward_to"],
                    reason=form.cleaned_data["reason"],
                    now=now,
                )
            except ValidationError as error:
                _add_service_error(form, error)
            else:
                forwarded = selectors.forwarded_count(absence=absence)
                messages.success(
                    request,
                    ngettext(
                        "Forwarding is on for %(name)s. %(count)s unread message was forwarded to "
                        "%(target)s.",
                        "Forwarding is on for %(name)s. %(count)s unread messages were forwarded to "
                        "%(target)s.",
                        forwarded,
                    )
                    % {"name": handler.display_name, "count": forwarded, "target": absence.forward_to.name},
                )
                return redirect("absence:sick_call")
    elif request.method == "POST":
        raise Http404
    context = {
        "search": search,
        "results": results,
        "handler": handler,
        "current_absence": current,
        "form": form,
        "units": selectors.absences_by_unit(when=now),
    }
    return render(request, "absence/sick_call.html", context)


@login_required
@require_POST
def sick_call_end(request: HttpRequest, pk: int) -> HttpResponse:
    absence = access_absence_for_sick_calls(user=request.user, absence_id=pk)
    try:
        ended = services.absence_end(absence=absence, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if ended.ended_at < ended.starts_at:
            text = _("The planned absence of %(name)s has been cancelled.")
        else:
            text = _("Forwarding is off for %(name)s. New messages go to their own mailbox again.")
        messages.success(request, text % {"name": absence.handler.display_name})
    return redirect("absence:sick_call")


# --- Enhetsöversikt --------------------------------------------------------------------------------


@login_required
@require_GET
def unit_overview(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, VIEW_UNIT_OVERVIEW)
    now = timezone.now()
    overviews = selectors.with_pictures(selectors.unit_overviews(user=request.user, when=now), now)
    return render(request, "absence/unit_overview.html", {"overviews": overviews, "now": now})


@idle_passive  # the page's once-a-minute refresh keeps no unattended session alive
@login_required
@require_GET
def unit_overview_refresh(request: HttpRequest) -> HttpResponse:
    """The polled part (htmx): the same sections, swapped in place out of band."""
    require_perm(request.user, VIEW_UNIT_OVERVIEW)
    context = {"overviews": selectors.unit_overviews(user=request.user), "now": timezone.now(), "oob": True}
    return render(request, "absence/_unit_overview_units.html", context)
