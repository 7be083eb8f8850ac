"""What staff do in a thread: reply, write to the citizen, add a note, take/handle, forward by hand.
Each opens the thread through mailboxes.permissions, calls one service and redirects."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AccessLogEntry
from eservices.permissions import access_case_thread, can_send_to_citizen
from lifemsg.ratelimits import RATE_LIMITED_MESSAGE, send_rate_exceeded

from .. import selectors
from ..forms import CitizenMessageForm, ForwardForm, NoteForm, ReplyForm
from ..permissions import (
    ThreadAccess,
    access_thread,
    is_protected,
    staff_mailbox_required,
)
from ..sending import (
    citizen_note_add,
    citizen_reply_send,
    internal_reply_send,
    thread_forward_by_hand,
    thread_mark_unread,
    thread_state_change,
)
from ..services.units import mailbox_personal_for
from .thread import log_citizen_access, render_thread, thread_url_for


@require_POST
@staff_mailbox_required
def reply(request, mailbox_id: int, thread_id: int):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    if access.thread.is_citizen:
        raise Http404  # a citizen thread is answered through the e-service (send_citizen)
    form = ReplyForm(request.POST, request.FILES, prefix="reply", user=request.user)
    if not form.is_valid():
        form.keep_uploads()
        return render_thread(request, access, reply_form=form, status=400)
    thread_messages = selectors.thread_messages(thread=access.thread, mailbox=access.mailbox)
    recipients = selectors.reply_recipients(
        messages=thread_messages, user=request.user, via_mailbox=access.mailbox
    )
    if not recipients:
        form.add_error(None, _("There is nobody else in this conversation to reply to."))
        form.keep_uploads()
        return render_thread(request, access, reply_form=form, status=400)
    if send_rate_exceeded(request, group="staff-send"):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        form.keep_uploads()
        return render_thread(request, access, reply_form=form, status=429)
    internal_reply_send(
        access=access,
        sender=request.user,
        recipients=recipients,
        body=form.cleaned_data["body"],
        attachments=form.attachments_to_attach(),
    )
    messages.success(request, _("Your reply has been sent."))
    return redirect(thread_url_for(access))


def _send_citizen(request, access: ThreadAccess):
    if not access.thread.is_citizen or access.case is None:
        raise Http404
    # Only the case's handler and co-handlers; refused here whatever the page showed.
    if not can_send_to_citizen(user=request.user, case=access.case):
        raise PermissionDenied
    form = CitizenMessageForm(request.POST, request.FILES, prefix="citizen", user=request.user)
    if not form.is_valid():
        form.keep_uploads()
        return render_thread(request, access, citizen_form=form, status=400)
    if send_rate_exceeded(request, group="staff-send"):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        form.keep_uploads()
        return render_thread(request, access, citizen_form=form, status=429)
    citizen_reply_send(
        access=access,
        sender=request.user,
        body=form.cleaned_data["body"],
        attachments=form.attachments_to_attach(),
    )
    messages.success(request, _("Your message has been sent to the citizen."))
    return redirect(thread_url_for(access))


@require_POST
@staff_mailbox_required
def send_citizen(request, mailbox_id: int, thread_id: int):
    return _send_citizen(
        request, access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    )


@require_POST
@staff_mailbox_required
def case_send_citizen(request, case_id: int):
    return _send_citizen(request, access_case_thread(user=request.user, case_id=case_id))


def _note(request, access: ThreadAccess):
    if not access.thread.is_citizen:
        raise Http404
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return render_thread(request, access, note_form=form, status=400)
    citizen_note_add(
        access=access,
        author=request.user,
        via_mailbox=access.mailbox or mailbox_personal_for(request.user),
        body=form.cleaned_data["body"],
    )
    messages.success(request, _("Your internal note has been saved."))
    return redirect(thread_url_for(access))


@require_POST
@staff_mailbox_required
def note(request, mailbox_id: int, thread_id: int):
    return _note(request, access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id))


@require_POST
@staff_mailbox_required
def case_note(request, case_id: int):
    return _note(request, access_case_thread(user=request.user, case_id=case_id))


# --- work in a group mailbox -------------------------------------------------------------------

STATE_ACTIONS = {
    "take": gettext_lazy("You are now handling this thread."),
    "release": gettext_lazy("You are no longer handling this thread."),
    "handled": gettext_lazy("The thread is marked as handled."),
    "reopen": gettext_lazy("The thread is no longer marked as handled."),
}


@require_POST
@staff_mailbox_required
def thread_state(request, mailbox_id: int, thread_id: int, action: str):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    if action not in STATE_ACTIONS or not access.mailbox.is_group:
        raise Http404
    thread_state_change(access=access, action=action, user=request.user)
    messages.success(request, STATE_ACTIONS[action])
    if request.POST.get("next") == "list":
        return redirect("mailboxes:mailbox", mailbox_id=access.mailbox.pk)
    return redirect(thread_url_for(access))


@require_POST
@staff_mailbox_required
def mark_unread(request, mailbox_id: int, thread_id: int):
    """Back to the list, as opening the thread again would mark it read."""
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    thread_mark_unread(access=access, user=request.user)
    messages.success(request, _("The thread is marked as unread."))
    return redirect("mailboxes:mailbox", mailbox_id=access.mailbox.pk)


@require_http_methods(["GET", "POST"])
@staff_mailbox_required
def forward(request, mailbox_id: int, thread_id: int):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    if is_protected(access.case):
        raise PermissionDenied  # a protected identity's thread never goes to a group mailbox
    targets = selectors.forward_targets(user=request.user, exclude=access.mailbox)
    form = ForwardForm(request.POST or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        delivery = thread_forward_by_hand(
            access=access, target=target, user=request.user, note=form.cleaned_data["note"]
        )
        if delivery is None:
            form.add_error("target", _("%(mailbox)s already has this thread.") % {"mailbox": target.name})
        else:
            messages.success(
                request, _("The thread has been forwarded to %(mailbox)s.") % {"mailbox": target.name}
            )
            return redirect(thread_url_for(access))
    # The form names the citizen and the subject: a read, logged before anything is rendered.
    log_citizen_access(request, access, AccessLogEntry.Action.READ_THREAD, detail={"page": "forward"})
    context = {"access": access, "thread": access.thread, "mailbox": access.mailbox, "form": form}
    return render(request, "mailboxes/forward.html", context, status=400 if form.errors else 200)
