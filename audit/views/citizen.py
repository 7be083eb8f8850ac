"""The citizen's own log extract (under /medborgare/)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import citizen_required

from .. import selectors
from ..labels import purpose_label
from ._common import PAGE_SIZE


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
