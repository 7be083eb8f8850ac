"""The handläggare's workspace: mailboxes, a mailbox's threads and the open thread side by side.

Every URL (a mailbox, a thread in it) renders the whole workspace, so each works without JavaScript
and after a reload. With htmx a link asks for one pane only (the `HX-Target` header names it: the
whole workspace when switching mailbox, the list when filtering or paging or when the polled counts
changed, the thread pane when opening a thread), and the page is updated in place; responses vary on
those headers so a cached pane is never shown as a page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from accounts.tools import staff_tools

from .. import selectors

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
        "nav_poll_seconds": getattr(settings, "MAILBOX_UNREAD_POLL_SECONDS", 15),
    }


def list_context(request, mailbox) -> dict:
    """A page of the mailbox's threads, as the list pane shows it."""
    view = request.GET.get("visa", selectors.ThreadFilter.ALL)
    if view not in selectors.ThreadFilter.CHOICES:
        view = selectors.ThreadFilter.ALL
    threads = selectors.mailbox_threads(mailbox=mailbox, user=request.user, view=view)
    page = Paginator(threads, selectors.THREADS_PER_PAGE).get_page(request.GET.get("sida"))
    page.object_list = selectors.thread_rows_for_display(page.object_list)
    query = {"visa": view}
    if page.number > 1:
        query["sida"] = page.number
    # The list loaded, reloaded or paged while a thread is open says which (workspace.js), so the
    # row stays marked and the pane's heading stays below the thread's.
    open_id = request.headers.get("X-Open-Thread", "") if pane_requested(request) == LIST_PANE else ""
    return {
        "mailbox": mailbox,
        "page": page,
        "view": view,
        "filters": list_filters(mailbox),
        "query_prefix": urlencode({"visa": view}) + "&",
        "mailbox_url": mailbox_url(mailbox),
        "list_url": f"{mailbox_url(mailbox)}?{urlencode(query)}",
        "open_thread_id": int(open_id) if open_id.isdigit() else None,
        "in_workspace": True,
    }


def mailbox_url(mailbox) -> str:
    return selectors.url_pattern("mailboxes:mailbox", 1).format(mailbox.pk)


def list_filters(mailbox) -> list[tuple[str, str]]:
    items = [
        (selectors.ThreadFilter.ALL, _("All")),
        (selectors.ThreadFilter.UNREAD, _("Unread")),
    ]
    if mailbox.is_group:
        items.append((selectors.ThreadFilter.TAKEN_BY_ME, _("Taken by me")))
    items.append((selectors.ThreadFilter.HANDLED, _("Handled")))
    return items


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
