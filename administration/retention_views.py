"""Retention (gallring) for the Systemförvaltare: the rules, the runs, a run's review list, and its
approval by a second person. Everything here needs retention_rules.manage_retention or
retention_rules.approve_retention; approving needs the latter (and four eyes: retention_rules.services)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from retention_rules import selectors, services
from retention_rules.models import KeepReason, Kind, RetentionRun
from retention_rules.rules import rules_in_effect

from .retention_forms import CancelForm, ItemFilterForm, RuleForm

PAGE_SIZE = 50


def retention_required(view):
    """Staff who manage retention rules or approve runs; anonymous to the login page, others 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_citizen or not (user.has_perm(services.MANAGE) or user.has_perm(services.APPROVE)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@retention_required
def rules(request: HttpRequest) -> HttpResponse:
    in_effect = rules_in_effect()
    return render(
        request,
        "administration/retention_rules.html",
        {
            "rules": [(kind, label, in_effect.get(kind)) for kind, label in Kind.choices],
            "versions": selectors.rule_versions(),
            "can_manage": request.user.has_perm(services.MANAGE),
        },
    )


@retention_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in Kind.values:
        raise Http404
    if not request.user.has_perm(services.MANAGE):
        raise PermissionDenied
    current = rules_in_effect().get(kind)
    initial = {"unit": "years", "active_from": timezone.localdate()}
    if current is not None:
        initial.update(
            period=current.period,
            unit=current.unit,
            decision=current.decision,
            research_sample=current.research_sample,
        )
    form = RuleForm(request.POST if request.method == "POST" else None, initial=initial, kind=kind)
    if request.method == "POST" and form.is_valid():
        services.rule_change(kind=kind, actor=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("The rule for %(kind)s has been saved. Runs waiting for approval were cancelled.")
            % {"kind": Kind(kind).label.lower()},
        )
        return redirect("administration:retention_rules")
    return render(
        request,
        "administration/retention_rule_edit.html",
        {"form": form, "kind_label": Kind(kind).label, "current": current},
        status=400 if form.is_bound else 200,
    )


@retention_required
def runs(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.runs(), PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page.object_list:
        run.listed = sum(counts.get("delete", 0) for counts in run.review.values())
    return render(
        request,
        "administration/retention_runs.html",
        {"page": page, "query": "", "can_manage": request.user.has_perm(services.MANAGE)},
    )


@retention_required
@require_POST
def run_propose(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(services.MANAGE):
        raise PermissionDenied
    try:
        run = services.run_propose(proposer=request.user)
    except services.RunRefused as exc:
        messages.error(request, exc.messages[0])
        return redirect("administration:retention_runs")
    messages.success(
        request, _("The review list is ready. Someone else must approve it before anything is removed.")
    )
    return redirect("administration:retention_run", pk=run.pk)


@retention_required
def run(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(selectors.runs(), pk=pk)
    return _run_page(request, obj)


def _run_page(request: HttpRequest, obj: RetentionRun, *, cancel_form: CancelForm | None = None, status=200):
    filters = ItemFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    items = selectors.run_items(run=obj, kind=data.get("kind", ""), outcome=data.get("outcome", ""))
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.items_dated(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    kinds = []
    for kind, label in Kind.choices:
        review = obj.review.get(kind, {})
        keep = {KeepReason(reason).label: n for reason, n in review.get("keep", {}).items()}
        criteria = obj.criteria.get(kind, {})
        kinds.append(
            {
                "label": label,
                "period": criteria.get("period") or "–",
                "cutoff": criteria.get("effective_cutoff") or criteria.get("cutoff"),
                "delete": review.get("delete", 0),
                "keep": keep,
                "removed": obj.done_counts.get(kind),
            }
        )
    return render(
        request,
        "administration/retention_run.html",
        {
            "run": obj,
            "kinds": kinds,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "approval": _approval(obj, request.user),
            "cancel_form": cancel_form or CancelForm(),
        },
        status=status,
    )


def _approval(run: RetentionRun, user) -> dict | None:
    """The approval section: None when the run is not waiting or the user may not approve at all."""
    if run.state != RetentionRun.State.PROPOSED or not user.has_perm(services.APPROVE):
        return None
    refusal = services.run_approval_refusal(run=run, approver=user)
    return {"refused": refusal.messages[0] if refusal else ""}


@retention_required
@require_POST
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(RetentionRun, pk=pk)
    try:
        services.run_approve(run_id=obj.pk, approver=request.user)
    except services.RunRefused as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The run is approved and runs in the background."))
    return redirect("administration:retention_run", pk=obj.pk)


@retention_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(RetentionRun, pk=pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _run_page(request, obj, cancel_form=form, status=400)
    try:
        services.run_cancel(run_id=obj.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except services.RunRefused as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The run is cancelled. Nothing more will be removed."))
    return redirect("administration:retention_run", pk=obj.pk)
