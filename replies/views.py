"""The thread page's helpers: autosave of the author's draft and insertion of a saved reply. Each
opens the thread as the thread page does (404 alike for missing and forbidden); a citizen thread's
draft is only for those who may send to the citizen. Neither writes the access log: nothing of the
thread is shown. The draft's text goes to the database and nowhere else (no log line, no audit)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from eservices.permissions import access_case_thread, can_send_to_citizen
from mailboxes.forms import BODY_MAX, CitizenMessageForm, ReplyForm
from mailboxes.permissions import ThreadAccess, access_thread, staff_mailbox_required
from mailboxes.views.thread import thread_url_for

from . import services
from .composer import composer_urls, field_name
from .permissions import access_saved_reply_to_use


def _may_write(user, access: ThreadAccess) -> None:
    """Who has the form on the thread page: the case team in a citizen thread, any reader of an
    internal thread opened through a mailbox."""
    if access.thread.is_citizen:
        if access.case is None:
            raise Http404
        if not can_send_to_citizen(user=user, case=access.case):
            raise PermissionDenied
    elif access.mailbox is None:
        raise Http404


def _since(request) -> dt.datetime | None:
    """When the page with the form was shown (composer.composer_context), if the request says."""
    since = parse_datetime(request.POST.get("draft_since", ""))
    return since if since is not None and timezone.is_aware(since) else None


def _draft(request, access: ThreadAccess):
    _may_write(request.user, access)
    body = request.POST.get(field_name(access), "")
    if len(body) > BODY_MAX:
        return HttpResponseBadRequest()
    try:
        draft = services.draft_save(user=request.user, thread=access.thread, body=body, since=_since(request))
    except services.DraftStale:
        return render(request, "replies/_draft_status.html", {"stale": True})
    return render(request, "replies/_draft_status.html", {"draft": draft, "removed": draft is None})


@require_POST
@staff_mailbox_required
def draft(request, mailbox_id: int, thread_id: int):
    return _draft(request, access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id))


@require_POST
@staff_mailbox_required
def case_draft(request, case_id: int):
    return _draft(request, access_case_thread(user=request.user, case_id=case_id))


def _insert(request, access: ThreadAccess):
    """The saved reply, filled in for the sender, added after what is written so far; kept as the
    draft, so the text survives whichever way the page comes back. With htmx the field alone is
    returned; without JavaScript the thread page is shown again with the draft in its form."""
    _may_write(request.user, access)
    try:
        saved_id = int(request.POST.get("saved_reply", ""))
    except ValueError:
        return HttpResponseBadRequest()
    saved = access_saved_reply_to_use(user=request.user, saved_reply_id=saved_id)
    written = request.POST.get(field_name(access), "").rstrip()
    text = services.saved_reply_text(saved, sender=request.user)
    body = f"{written}\n\n{text}" if written else text
    if len(body) > BODY_MAX:
        return HttpResponseBadRequest()
    since = _since(request)
    try:
        draft = services.draft_save(user=request.user, thread=access.thread, body=body, since=since)
    except services.DraftStale:
        return render(request, "replies/_draft_status.html", {"stale": True})
    if not request.htmx:
        return redirect(thread_url_for(access) + "#composer")
    form = _form_class(access)(
        prefix=field_name(access).split("-")[0], user=request.user, initial={"body": body}
    )
    # htmx focuses an element with autofocus once it is swapped in: the writer goes on typing.
    form.fields["body"].widget.attrs["autofocus"] = True
    context = {
        "field": form["body"],
        "draft": draft,
        "body_field": field_name(access),
        **composer_urls(access),
    }
    return render(request, "replies/_inserted.html", context)


def _form_class(access: ThreadAccess):
    return CitizenMessageForm if access.thread.is_citizen else ReplyForm


@require_POST
@staff_mailbox_required
def insert(request, mailbox_id: int, thread_id: int):
    return _insert(request, access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id))


@require_POST
@staff_mailbox_required
def case_insert(request, case_id: int):
    return _insert(request, access_case_thread(user=request.user, case_id=case_id))
