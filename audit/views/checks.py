"""Targeted checks of the access log (staff outside the team, protected identities, bulk reads,
same surname or address, staff who are clients)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .. import selectors
from ..csvexport import csv_response
from ..forms import (
    ChecksForm,
    ReviewRecordForm,
    default_period,
)
from ..models import LogReview
from ..permissions import reviewer_required
from ..readguard import refuse_unlogged_reads
from ._common import PAGE_SIZE, Action, entry_header, entry_row, local_time, log_review_access, stamp


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


def check_detail(form: ChecksForm) -> dict[str, Any]:
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
        log_review_access(
            request, action=Action.SEARCH, what="access_log_check", results=count, **check_detail(form)
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
    log_review_access(
        request, action=Action.EXPORT, what="access_log_check", results=count, **check_detail(form)
    )
    filename = f"kontroll-{check}-{stamp()}.csv"
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
                local_time(b.first_at),
                local_time(b.last_at),
                b.citizen_count,
                b.read_count,
            ]
            for b in result
        )
        return csv_response(filename, header, rows)
    return csv_response(filename, entry_header(), (entry_row(e) for e in result.iterator(chunk_size=2000)))
