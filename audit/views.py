"""Log review for log reviewers (accounts.review_access_log), and the citizen's log extract.

Every page that shows log content writes the reviewer's own access-log entry (route log_review)
first; if that entry cannot be written the page shows nothing (audit.http.refuse_unlogged_reads).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from eservices.models import Citizen
from eservices.views import citizen_required
from mailboxes.models import Unit

from . import selectors, services
from .csvexport import csv_response
from .forms import (
    ChecksForm,
    EventFilterForm,
    LogSearchForm,
    ReviewConclusionForm,
    ReviewRecordForm,
    SampleForm,
    default_period,
)
from .labels import purpose_label
from .models import AccessLogEntry, LogReview
from .permissions import reviewer_required
from .readguard import refuse_unlogged_reads

PAGE_SIZE = 50
Action = AccessLogEntry.Action
Route = AccessLogEntry.Route


def _log_review_access(
    request: HttpRequest, *, action: str, what: str, citizen_id=None, unit_id=None, **detail
):
    """The reviewer's own access-log entry, written before anything is shown."""
    return services.access_log_record(
        user=request.user,
        action=action,
        route=Route.LOG_REVIEW,
        object_type=what,
        citizen_id=citizen_id,
        unit_id=unit_id,
        detail=detail,
    )


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


# --- search and export -------------------------------------------------------------------------


@reviewer_required
@refuse_unlogged_reads
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Typed criteria come by POST and go on as a results URL that names the citizen by id.
        form = LogSearchForm(request.POST)
        if form.is_valid():
            return redirect(f"{reverse('audit:search')}?{form.querystring()}")
        return render(request, "audit/search.html", {"form": form})
    if not request.GET:
        return render(request, "audit/search.html", {"form": LogSearchForm()})
    form = LogSearchForm.from_query(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form})
    filters = form.filters()
    paginator = Paginator(selectors.access_log_search(filters=filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    # Read the page now, so the list and its count are the same moment (the entry below is not in it).
    page.object_list = list(page.object_list)
    _log_review_access(
        request,
        action=Action.SEARCH,
        what="access_log",
        citizen_id=filters.citizen_user_id,
        unit_id=filters.unit.pk if filters.unit else None,
        filters=filters.describe(),
        page=page.number,
        results=paginator.count,
    )
    query = form.querystring()
    start, end = _period_of(form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to"))
    record_form = ReviewRecordForm(
        initial={"kind": LogReview.Kind.SEARCH, "query": query, "period_start": start, "period_end": end}
    )
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "citizen": form.citizen,
            "record_form": record_form,
        },
    )


def _period_of(date_from, date_to) -> tuple[dt.date, dt.date]:
    default_start, default_end = default_period()
    return date_from or default_start, date_to or default_end


def _entry_row(entry: AccessLogEntry) -> list[Any]:
    citizen = entry.citizen.citizen if entry.citizen_id and hasattr(entry.citizen, "citizen") else None
    return [
        entry.seq,
        _local(entry.at),
        entry.user.username,
        entry.user.display_name,
        entry.user_units,
        entry.user_roles,
        entry.get_action_display(),
        entry.get_route_display(),
        entry.object_type,
        entry.object_id,
        entry.thread_id,
        entry.case_reference or "",
        entry.unit_name or "",
        citizen.personnummer_formatted if citizen else "",
        str(citizen) if citizen else "",
    ]


def _entry_header() -> list[str]:
    return [
        _("Entry no."),
        _("Time"),
        _("User name"),
        _("Staff member"),
        _("Staff member's units at the time"),
        _("Staff member's roles at the time"),
        pgettext("access log", "Action"),
        _("Access route"),
        _("Object type"),
        _("Object id"),
        _("Thread id"),
        _("Case number"),
        _("Unit read"),
        _("Citizen's personal identity number"),
        _("Citizen"),
    ]


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@reviewer_required
@refuse_unlogged_reads
def export(request: HttpRequest) -> HttpResponse:
    form = LogSearchForm.from_query(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form}, status=400)
    filters = form.filters()
    entries = selectors.access_log_search(filters=filters)
    own = _log_review_access(
        request,
        action=Action.EXPORT,
        what="access_log",
        citizen_id=filters.citizen_user_id,
        unit_id=filters.unit.pk if filters.unit else None,
        filters=filters.describe(),
        results=entries.count(),
    )
    # The file holds what existed when it was asked for, not this export's own entry.
    rows = (_entry_row(e) for e in entries.filter(seq__lt=own.seq).iterator(chunk_size=2000))
    return csv_response(f"atkomstlogg-{_stamp()}.csv", _entry_header(), rows)


# --- targeted checks ---------------------------------------------------------------------------


def _checks_form(request: HttpRequest) -> ChecksForm:
    if request.GET:
        return ChecksForm(request.GET)
    start, end = default_period()
    return ChecksForm(initial={"check": ChecksForm.OUTSIDE, "date_from": start, "date_to": end})


def _run_check(form: ChecksForm):
    data = form.cleaned_data
    start, end = selectors.day_bounds(data["date_from"], data["date_to"])
    if data["check"] == ChecksForm.OUTSIDE:
        return selectors.reads_outside_case_team(start=start, end=end)
    if data["check"] == ChecksForm.PROTECTED:
        return selectors.reads_of_protected_identities(start=start, end=end)
    if data["check"] == ChecksForm.KIN:
        return selectors.reads_of_kin(start=start, end=end)
    if data["check"] == ChecksForm.CLIENT:
        return selectors.reads_by_staff_who_are_clients(start=start, end=end)
    return selectors.bulk_reads(start=start, end=end, threshold=form.threshold())


def _check_detail(form: ChecksForm) -> dict[str, Any]:
    data = form.cleaned_data
    detail: dict[str, Any] = {
        "check": data["check"],
        "from": data["date_from"].isoformat(),
        "to": data["date_to"].isoformat(),
    }
    if data["check"] == ChecksForm.BULK:
        detail["threshold"] = form.threshold()
    return detail


@reviewer_required
@refuse_unlogged_reads
def checks(request: HttpRequest) -> HttpResponse:
    form = _checks_form(request)
    context: dict[str, Any] = {"form": form, "threshold": ChecksForm.threshold()}
    if form.is_bound and form.is_valid():
        result = _run_check(form)
        check = form.cleaned_data["check"]
        if check == ChecksForm.BULK:
            count = len(result)
            context["bursts"] = result
        else:
            paginator = Paginator(result, PAGE_SIZE)
            context["page"] = paginator.get_page(request.GET.get("page"))
            count = paginator.count
        _log_review_access(
            request, action=Action.SEARCH, what="access_log_check", results=count, **_check_detail(form)
        )
        query = request.GET.copy()
        query.pop("page", None)
        context.update(
            check=check,
            check_label=dict(ChecksForm.CHECKS)[check],
            query=query.urlencode(),
            result_count=count,
            record_form=ReviewRecordForm(
                initial={
                    "kind": LogReview.Kind.TARGETED,
                    "query": query.urlencode(),
                    "period_start": form.cleaned_data["date_from"],
                    "period_end": form.cleaned_data["date_to"],
                }
            ),
        )
    return render(request, "audit/checks.html", context)


@reviewer_required
@refuse_unlogged_reads
def checks_export(request: HttpRequest) -> HttpResponse:
    form = ChecksForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/checks.html", {"form": form}, status=400)
    result = _run_check(form)
    check = form.cleaned_data["check"]
    count = len(result) if check == ChecksForm.BULK else result.count()
    _log_review_access(
        request, action=Action.EXPORT, what="access_log_check", results=count, **_check_detail(form)
    )
    filename = f"kontroll-{check}-{_stamp()}.csv"
    if check == ChecksForm.BULK:
        header = [
            _("User name"),
            _("Staff member"),
            _("First read"),
            _("Last read"),
            _("Citizens"),
            _("Reads"),
        ]
        rows = (
            [
                b.user.username,
                b.user.display_name,
                _local(b.first_at),
                _local(b.last_at),
                b.citizen_count,
                b.read_count,
            ]
            for b in result
        )
        return csv_response(filename, header, rows)
    return csv_response(filename, _entry_header(), (_entry_row(e) for e in result.iterator(chunk_size=2000)))


# --- random samples and review records ---------------------------------------------------------


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
        _log_review_access(
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
    return _check_detail(form) if form.is_valid() else None


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


# --- audit events ------------------------------------------------------------------------------


@reviewer_required
@refuse_unlogged_reads
def events(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        start, end = selectors.day_bounds(data.get("date_from"), data.get("date_to"))
        qs = selectors.audit_events(
            action_prefixes=form.prefixes() if form.is_bound else (),
            actor_text=data.get("actor", ""),
            start=start,
            end=end,
        )
        paginator = Paginator(qs, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        _log_review_access(
            request,
            action=Action.SEARCH,
            what="audit_event",
            filters={k: str(v) for k, v in data.items() if v},
            page=page.number,
            results=paginator.count,
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/events.html", {"form": form, "page": page, "query": query.urlencode()})


# --- the citizen's log extract -----------------------------------------------------------------


@citizen_required
def citizen_extract(request: HttpRequest) -> HttpResponse:
    """Registerutdrag: when, by which unit and for what purpose the citizen's messages were accessed;
    never who."""
    page = Paginator(selectors.citizen_log_extract(citizen_user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "at": entry.at,
            "unit": entry.unit_name or entry.user_units,
            "action": entry.get_action_display(),
            "purpose": purpose_label(entry.route),
        }
        for entry in page.object_list
    ]
    return render(request, "audit/citizen_extract.html", {"page": page, "rows": rows})
