"""The staff navigation: the mailbox list with unread counts (polled), the start page and one
mailbox's threads."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.idle import idle_passive
from eservices import selectors as case_selectors

from ..permissions import (
    access_mailbox,
    staff_mailbox_required,
)
from .workspace import (
    COUNTS_CHANGED,
    LIST_REFRESH,
    WORKSPACE,
    list_context,
    nav_context,
    pane_requested,
    render_workspace,
)


@require_GET
@staff_mailbox_required
def index(request):
    context = nav_context(request.user)
    context["cases"] = list(case_selectors.my_cases(request.user))
    return render(request, "mailboxes/index.html", context)


@idle_passive  # background polling keeps no unattended session alive
@require_GET
@staff_mailbox_required
def unread_counts(request):
    """The polled partial (htmx, every few seconds): 204 when nothing changed, so the live region only
    speaks when a count did."""
    current = request.GET.get("current", "")
    context = nav_context(request.user)
    context["nav_current_id"] = int(current) if current.isdigit() else ""
    if request.GET.get("v") == context["nav_fingerprint"]:
        return HttpResponse(status=204)
    response = render(request, "mailboxes/_unread.html", context)
    if "v" in request.GET:  # not the first fill of a page that came without counts
        # The workspace's thread list reloads itself on this event (mailboxes/_list_pane.html).
        response["HX-Trigger"] = COUNTS_CHANGED
    return response


@require_GET
@staff_mailbox_required
def mailbox_view(request, mailbox_id: int):
    """The workspace on one mailbox: its threads, no thread open (or one pane of it, see workspace)."""
    pane = pane_requested(request)
    if request.headers.get("HX-Trigger") == LIST_REFRESH:
        request.idle_passive = True  # the list reloading itself after the counts changed
    nav = nav_context(request.user) if pane in (None, WORKSPACE) else {}
    mailbox = access_mailbox(user=request.user, mailbox_id=mailbox_id, among=nav.get("nav_mailboxes"))
    return render_workspace(request, {**nav, **list_context(request, mailbox)}, pane=pane)
