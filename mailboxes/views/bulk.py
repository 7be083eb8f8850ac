"""Bulk take / mark handled from a group mailbox's list (mailboxes.bulk)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..bulk import BULK_ACTIONS, BULK_MAX_THREADS, BulkResult, threads_state_change_bulk
from ..permissions import access_mailbox, staff_mailbox_required
from ..thread_filters import filters_from_query


@require_POST
@staff_mailbox_required
def bulk_state(request, mailbox_id: int):
    mailbox = access_mailbox(user=request.user, mailbox_id=mailbox_id)
    action = request.POST.get("atgard", "")
    if action not in BULK_ACTIONS or not mailbox.is_group:
        raise Http404
    raw_ids = request.POST.getlist("trad")
    if len(raw_ids) > BULK_MAX_THREADS:
        messages.error(request, _("Select at most %(n)s threads at a time.") % {"n": BULK_MAX_THREADS})
    elif not raw_ids:
        messages.error(request, _("Select the threads first."))
    else:
        # An id that is not a number is one more that cannot be done, told apart from no other.
        ids = [int(v) for v in raw_ids if v.isdigit() and len(v) < 19]
        result = threads_state_change_bulk(user=request.user, mailbox=mailbox, thread_ids=ids, action=action)
        result.not_done += len(raw_ids) - len(ids)
        _report(request, action, result)
    return redirect(_list_url(mailbox, request.POST.get("filter", ""), request.POST.get("sida", "")))


def _report(request, action: str, result: BulkResult) -> None:
    if result.done:
        if action == "take":
            text = ngettext(
                "You are now handling %(n)s thread.", "You are now handling %(n)s threads.", result.done
            )
        else:
            text = ngettext(
                "%(n)s thread marked as handled.", "%(n)s threads marked as handled.", result.done
            )
        messages.success(request, text % {"n": result.done})
    if result.already:
        if action == "take":
            text = ngettext(
                "%(n)s thread was already yours or handled.",
                "%(n)s threads were already yours or handled.",
                result.already,
            )
        else:
            text = ngettext(
                "%(n)s thread was already handled.", "%(n)s threads were already handled.", result.already
            )
        messages.info(request, text % {"n": result.already})
    if result.not_done:
        text = ngettext(
            "%(n)s thread could not be changed: it is not in this mailbox or you may not open it.",
            "%(n)s threads could not be changed: they are not in this mailbox or you may not open them.",
            result.not_done,
        )
        messages.warning(request, text % {"n": result.not_done})


def _list_url(mailbox, query: str, page: str) -> str:
    """The list again, with the filters and on the page it was shown with (a page past the end, once
    handled threads left a "not handled" list, shows the last one)."""
    url = reverse("mailboxes:mailbox", args=[mailbox.pk])
    params = filters_from_query(query).query()
    if page.isdigit() and 1 < int(page) < 10_000:
        params = "&".join(p for p in (params, f"sida={int(page)}") if p)
    return f"{url}?{params}" if params else url
