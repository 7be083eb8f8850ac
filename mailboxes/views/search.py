"""Search across the mailboxes the user may open; citizen hits are logged like reads."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AccessLogEntry

from .. import selectors
from ..forms import SearchForm
from ..models import MailboxThread
from ..permissions import (
    staff_mailbox_required,
)
from ..search import SearchPaginator, search_threads
from ..services.reads import access_log_citizen_reads


@require_GET
@staff_mailbox_required
def search(request):
    form = SearchForm(request.GET or None)
    page = None
    if form.is_valid():
        results = search_threads(user=request.user, query=form.cleaned_data["q"])
        # The first SEARCH_HIT_LIMIT hits are listed and counted; the page says when there are more.
        page = SearchPaginator(results, selectors.THREADS_PER_PAGE).get_page(request.GET.get("sida"))
        page.object_list = selectors.thread_rows_for_display(page.object_list)
        citizen_rows = [row for row in page.object_list if row.thread.is_citizen]
        if citizen_rows:
            # A hit shows that a citizen's messages contain the words searched for: logged like a read.
            _log_search(request.user, form.cleaned_data["q"], citizen_rows)
    context = {"form": form, "page": page}
    if page is not None:
        context["query_prefix"] = urlencode({"q": form.cleaned_data["q"]}) + "&"
    return render(request, "mailboxes/search.html", context)


def route_for(mailbox) -> str:
    return AccessLogEntry.Route.GROUP_MAILBOX if mailbox.is_group else AccessLogEntry.Route.OWN_MAILBOX


def _log_search(user, query: str, rows: list[MailboxThread]) -> None:
    """One entry per citizen whose thread the results show, so each citizen's reads (and their log
    extract) include the search that found them; all of them written at once, before the page."""
    by_citizen: dict[int, list[MailboxThread]] = {}
    for row in rows:
        by_citizen.setdefault(row.thread.citizen_id, []).append(row)
    access_log_citizen_reads(
        user=user,
        reads=[
            {
                "action": AccessLogEntry.Action.SEARCH,
                "route": route_for(citizen_rows[0].mailbox),
                "thread": citizen_rows[0].thread,
                "mailbox": citizen_rows[0].mailbox,
                "object_type": "search",
                "object_id": None,
                "detail": {
                    "query": query,
                    "results": [{"thread": r.thread_id, "mailbox": r.mailbox_id} for r in citizen_rows],
                },
            }
            for citizen_rows in by_citizen.values()
        ],
    )
