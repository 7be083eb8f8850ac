"""The staff navigation: the mailbox list with unread counts (polled), the start page and one
mailbox's threads."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.idle import idle_passive
from eservices import selectors as case_selectors

from .. import selectors
from ..permissions import (
    access_mailbox,
    staff_mailbox_required,
)
from ..thread_filters import ThreadFilterForm, selected_eservice_id


def _nav_context(user) -> dict:
    mailboxes = list(selectors.mailboxes_with_unread(user))
    return {
        "nav_mailboxes": mailboxes,
        "nav_fingerprint": selectors.unread_fingerprint(mailboxes),
        "nav_current_id": "",
        "nav_total_unread": sum(m.unread for m in mailboxes),
        "nav_poll_seconds": getattr(settings, "MAILBOX_UNREAD_POLL_SECONDS", 15),
    }


@require_GET
@staff_mailbox_required
def index(request):
    context = _nav_context(request.user)
    context["cases"] = list(case_selectors.my_cases(request.user))
    return render(request, "mailboxes/index.html", context)


@idle_passive  # background polling keeps no unattended session alive
@require_GET
@staff_mailbox_required
def unread_counts(request):
    """The polled partial (htmx, every few seconds): 204 when nothing changed, so the live region only
    speaks when a count did."""
    current = request.GET.get("current", "")
    context = _nav_context(request.user)
    context["nav_current_id"] = int(current) if current.isdigit() else ""
    if request.GET.get("v") == context["nav_fingerprint"]:
        return HttpResponse(status=204)
    return render(request, "mailboxes/_unread.html", context)


@require_GET
@staff_mailbox_required
def mailbox_view(request, mailbox_id: int):
    context = _nav_context(request.user)
    mailbox = access_mailbox(user=request.user, mailbox_id=mailbox_id, among=context["nav_mailboxes"])
    context["nav_current_id"] = mailbox.pk
    context.update(thread_list_context(request, mailbox))
    return render(request, "mailboxes/mailbox.html", context)


def thread_list_context(request, mailbox) -> dict:
    """A mailbox's thread list as the GET parameters filter and page it: the filter form, the page,
    the filtered count, the query string that keeps the filters on page links and after a bulk
    action, and the bulk actions a group mailbox offers."""
    form = ThreadFilterForm(
        request.GET,
        eservices=case_selectors.mailbox_eservice_choices(
            mailbox=mailbox, selected_id=selected_eservice_id(request.GET)
        ),
        group=mailbox.is_group,
    )
    filters = form.filters()
    threads = selectors.mailbox_threads(mailbox=mailbox, user=request.user, filters=filters)
    page = Paginator(threads, selectors.THREADS_PER_PAGE).get_page(request.GET.get("sida"))
    page.object_list = selectors.thread_rows_for_display(page.object_list)
    query = filters.query()
    return {
        "mailbox": mailbox,
        "page": page,
        "filter_form": form,
        "filters_active": filters.active,
        "filter_query": query,
        "query_prefix": query + "&" if query else "",
        "bulk_actions": mailbox.is_group,
    }
