"""The handläggare's workspace: mailboxes, a mailbox's threads and the open thread side by side.

Every URL (a mailbox, a thread in it) renders the whole workspace, so each works without JavaScript
and after a reload. With htmx a link asks for one pane only (the `HX-Target` header names it: the
whole workspace when switching mailbox, the list when filtering or paging or when the polled counts
changed, the thread pane when opening a thread), and the page is updated in place; responses vary on
those headers so a cached pane is never shown as a page."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from accounts.tools import staff_tools
from eservices import selectors as case_selectors

from .. import selectors
from ..thread_filters import ThreadFilterForm, selected_eservice_id

WORKSPACE = "workspace"
LIST_PANE = "ws-list"
THREAD_PANE = "ws-thread"
# The hidden element in the list pane that reloads it when the polled counts changed (background).
LIST_REFRESH = "ws-list-refresh"
PANES = (WORKSPACE, LIST_PANE, THREAD_PANE)
# The event the polled counts send when they changed (and a thread opened marked one read).
COUNTS_CHANGED = "mailboxes-changed"
THREAD_READ = "mailboxes-read"


def pane_requested(request) -> str | None:
    """The pane an htmx request asks for, or None for a whole page (no htmx, a history restore)."""
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-History-Restore-Request"):
        return None
    target = request.headers.get("HX-Target", "")
    return target if target in PANES else None


def vary_on_pane(response):
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def nav_context(user) -> dict:
    mailboxes = list(selectors.mailboxes_with_unread(user))
    return {
        "nav_mailboxes": mailboxes,
        "nav_fingerprint": selectors.unread_fingerprint(mailboxes),
        "nav_current_id": "",
        "nav_total_unread": sum(m.unread for m in mailboxes),
        "nav_poll_seconds": poll_seconds(),
    }


def nav_deferred() -> dict:
    """The mailbox list without its query: the polled counts fill it in when the page has loaded."""
    return {
        "nav_deferred": True,
        "nav_mailboxes": [],
        "nav_current_id": "",
        "nav_poll_seconds": poll_seconds(),
    }


def poll_seconds() -> int:
    return getattr(settings, "MAILBOX_UNREAD_POLL_SECONDS", 15)


def list_context(request, mailbox) -> dict:
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
    here = "&".join(part for part in (query, f"sida={page.number}" if page.number > 1 else "") if part)
    # The list loaded, reloaded or paged while a thread is open says which (workspace.js), so the
    # row stays marked and the pane's heading stays below the thread's.
    open_id = request.headers.get("X-Open-Thread", "") if pane_requested(request) == LIST_PANE else ""
    return {
        "mailbox": mailbox,
        "page": page,
        "filter_form": form,
        "filters_active": filters.active,
        "filter_query": query,
        "query_prefix": query + "&" if query else "",
        "bulk_actions": mailbox.is_group,
        "mailbox_url": mailbox_url(mailbox),
        "list_url": mailbox_url(mailbox) + (f"?{here}" if here else ""),
        "open_thread_id": int(open_id) if open_id.isdigit() else None,
        "in_workspace": True,
    }


def mailbox_url(mailbox) -> str:
    return selectors.url_pattern("mailboxes:mailbox", 1).format(mailbox.pk)


def render_workspace(request, context: dict, *, pane: str | None, status: int = 200):
    """The page or the pane asked for. `context` holds the list (list_context) and, when a thread is
    open, the thread (mailboxes.views.thread); the mailbox navigation is added for a whole page or
    workspace only."""
    context["pane_only"] = pane is not None
    if pane == THREAD_PANE:
        template = "mailboxes/_thread_pane.html"
    elif pane == LIST_PANE:
        template = "mailboxes/_list_pane.html"
    else:
        if "nav_mailboxes" not in context:
            context = {**nav_context(request.user), **context}
        context["nav_tools"] = staff_tools(request.user, exclude=("mailboxes:index",))
        context["nav_current_id"] = context["mailbox"].pk
        template = "mailboxes/_workspace.html" if pane == WORKSPACE else "mailboxes/workspace.html"
    return vary_on_pane(render(request, template, context, status=status))
