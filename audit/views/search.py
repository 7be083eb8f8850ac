"""Searching the access log and exporting what was found (CSV)."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from .. import selectors
from ..csvexport import csv_response
from ..forms import (
    LogSearchForm,
    ReviewRecordForm,
    default_period,
)
from ..models import LogReview
from ..permissions import reviewer_required
from ..readguard import refuse_unlogged_reads
from ._common import PAGE_SIZE, Action, entry_header, entry_row, log_review_access, stamp


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
    log_review_access(
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


@reviewer_required
@refuse_unlogged_reads
def export(request: HttpRequest) -> HttpResponse:
    form = LogSearchForm.from_query(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form}, status=400)
    filters = form.filters()
    entries = selectors.access_log_search(filters=filters)
    own = log_review_access(
        request,
        action=Action.EXPORT,
        what="access_log",
        citizen_id=filters.citizen_user_id,
        unit_id=filters.unit.pk if filters.unit else None,
        filters=filters.describe(),
        results=entries.count(),
    )
    # The file holds what existed when it was asked for, not this export's own entry.
    rows = (entry_row(e) for e in entries.filter(seq__lt=own.seq).iterator(chunk_size=2000))
    return csv_response(f"atkomstlogg-{stamp()}.csv", entry_header(), rows)
