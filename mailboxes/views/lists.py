"""The staff navigation: the mailbox list with unread counts (polled), the start page and one
mailbox's threads."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.idle import idle_passive
from eservices import selectors as case_selectors

from .. import selectors
from ..permissions import (
    access_mailbox,
    staff_mailbox_required,
)


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
    view = request.GET.get("visa", selectors.ThreadFilter.ALL)
    if view not in selectors.ThreadFilter.CHOICES:
        view = selectors.ThreadFilter.ALL
    threads = selectors.mailbox_threads(mailbox=mailbox, user=request.user, view=view)
    page = Paginator(threads, selectors.THREADS_PER_PAGE).get_page(request.GET.get("sida"))
    page.object_list = selectors.thread_rows_for_display(page.object_list)
    context.update(
        {
            "mailbox": mailbox,
            "page": page,
            "view": view,
            "filters": _filters(mailbox),
            "query_prefix": urlencode({"visa": view}) + "&",
        }
    )
    return render(request, "mailboxes/mailbox.html", context)


def _filters(mailbox) -> list[tuple[str, str]]:
    items = [
        (selectors.ThreadFilter.ALL, _("All")),
        (selectors.ThreadFilter.UNREAD, _("Unread")),
    ]
    if mailbox.is_group:
        items.append((selectors.ThreadFilter.TAKEN_BY_ME, _("Taken by me")))
    items.append((selectors.ThreadFilter.HANDLED, _("Handled")))
    return items
