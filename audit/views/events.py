"""The change log (audit events)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors
from ..forms import (
    EventFilterForm,
)
from ..permissions import reviewer_required
from ..readguard import refuse_unlogged_reads
from ._common import PAGE_SIZE, Action, log_review_access


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
        log_review_access(
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
