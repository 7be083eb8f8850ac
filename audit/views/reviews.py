"""Random samples and the records of reviews done."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from eservices.models import Citizen
from mailboxes.models import Unit

from .. import selectors, services
from ..forms import (
    ChecksForm,
    LogSearchForm,
    ReviewConclusionForm,
    ReviewRecordForm,
    SampleForm,
    default_period,
)
from ..models import LogReview
from ..permissions import reviewer_required
from ..readguard import refuse_unlogged_reads
from ._common import PAGE_SIZE, Action, Route, log_review_access
from .checks import check_detail


@reviewer_required
@require_http_methods(["GET", "POST"])
def sample(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SampleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            review = services.log_review_sample_draw(
                reviewer=request.user,
                period_start=data["date_from"],
                period_end=data["date_to"],
                size=data["size"],
            )
            if not review.sample_seqs:
                messages.warning(request, _("There were no reads in the period, so the sample is empty."))
            return redirect("audit:review", pk=review.pk)
    else:
        start, end = default_period()
        form = SampleForm(initial={"date_from": start, "date_to": end, "size": 25})
    open_reviews = selectors.log_reviews().filter(
        reviewer=request.user, status=LogReview.Status.OPEN, kind=LogReview.Kind.SAMPLE
    )
    return render(request, "audit/sample.html", {"form": form, "open_reviews": open_reviews})


@reviewer_required
def reviews(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.log_reviews(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/reviews.html", {"page": page})


def _describe_selection(review: LogReview) -> list[tuple[str, str]]:
    """The review's selection in words, for the record page."""
    sel = review.selection or {}
    rows: list[tuple[str, str]] = []
    labels = dict(ChecksForm.CHECKS)
    if "check" in sel:
        rows.append((_("Check"), str(labels.get(sel["check"], sel["check"]))))
        if "threshold" in sel:
            rows.append((_("Threshold (citizens per hour)"), str(sel["threshold"])))
    if sel.get("citizen"):
        citizen = Citizen.objects.filter(user_id=sel["citizen"]).first()
        rows.append((_("Citizen"), f"{citizen.personnummer_formatted} {citizen}" if citizen else "–"))
    if sel.get("staff"):
        rows.append((_("Staff member"), sel["staff"]))
    if sel.get("unit"):
        unit = Unit.objects.filter(pk=sel["unit"]).first()
        rows.append((_("Unit"), unit.name if unit else "–"))
    if sel.get("action"):
        rows.append(
            (
                pgettext("access log", "Action"),
                str(Action(sel["action"]).label) if sel["action"] in Action.values else sel["action"],
            )
        )
    if sel.get("route"):
        rows.append(
            (
                _("Access route"),
                str(Route(sel["route"]).label) if sel["route"] in Route.values else sel["route"],
            )
        )
    if review.kind == LogReview.Kind.SAMPLE:
        rows.append((_("Sample size"), f"{len(review.sample_seqs)} / {sel.get('population', 0)}"))
    return rows


def _selection_url(review: LogReview) -> str | None:
    sel = review.selection or {}
    if review.kind == LogReview.Kind.SEARCH:
        keys = {
            "citizen": "citizen",
            "staff": "staff",
            "unit": "unit",
            "from": "date_from",
            "to": "date_to",
            "action": "action",
            "route": "route",
        }
        query = {target: sel[key] for key, target in keys.items() if sel.get(key)}
        return f"{reverse('audit:search')}?{urlencode(query)}" if query else reverse("audit:search")
    if review.kind == LogReview.Kind.TARGETED and sel.get("check"):
        query = {"check": sel["check"], "date_from": sel.get("from", ""), "date_to": sel.get("to", "")}
        return f"{reverse('audit:checks')}?{urlencode(query)}"
    return None


@reviewer_required
@refuse_unlogged_reads
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    obj = selectors.log_reviews().filter(pk=pk).first()
    if obj is None:
        raise Http404
    can_complete = obj.status == LogReview.Status.OPEN and obj.reviewer_id == request.user.pk
    form = ReviewConclusionForm(request.POST if request.method == "POST" else None) if can_complete else None
    if request.method == "POST":
        if not can_complete:
            raise PermissionDenied
        if form.is_valid():
            services.log_review_complete(
                review=obj,
                reviewer=request.user,
                outcome=form.cleaned_data["outcome"],
                conclusion=form.cleaned_data["conclusion"],
            )
            messages.success(request, _("The review has been recorded."))
            return redirect("audit:review", pk=obj.pk)
    entries = None
    if obj.kind == LogReview.Kind.SAMPLE and obj.sample_seqs:
        entries = list(selectors.sample_entries(review=obj))
        log_review_access(
            request, action=Action.SEARCH, what="log_review", review=obj.pk, results=len(entries)
        )
    return render(
        request,
        "audit/review.html",
        {
            "review": obj,
            "entries": entries,
            "form": form,
            "selection": _describe_selection(obj),
            "selection_url": _selection_url(obj),
        },
    )


def _selection_from_query(kind: str, query: str) -> dict[str, Any] | None:
    """Re-read the search or check the reviewer looked at; None if it does not validate."""
    data = QueryDict(query)
    if kind == LogReview.Kind.SEARCH:
        form = LogSearchForm.from_query(data)
        return form.filters().describe() if form.is_valid() else None
    form = ChecksForm(data)
    return check_detail(form) if form.is_valid() else None


@reviewer_required
@require_POST
def review_record(request: HttpRequest) -> HttpResponse:
    form = ReviewRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        selection = _selection_from_query(data["kind"], data["query"])
        if selection is None:
            form.add_error(
                None, _("The selection could not be read again. Run the search again and record it.")
            )
        else:
            try:
                obj = services.log_review_record(
                    reviewer=request.user,
                    kind=data["kind"],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    selection=selection,
                    outcome=data["outcome"],
                    conclusion=data["conclusion"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The review has been recorded."))
                return redirect("audit:review", pk=obj.pk)
    return render(request, "audit/review_record.html", {"form": form}, status=400)
