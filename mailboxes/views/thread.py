"""One thread on screen or paper. Every render of a citizen thread writes its access-log entry first;
if that fails, nothing is shown."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from absence.selectors import away_notices_for_mailboxes
from audit.models import AccessLogEntry
from eservices import selectors as case_selectors
from eservices.permissions import access_case_thread
from replies.composer import composer_context

from .. import selectors
from ..forms import CitizenMessageForm, NoteForm, ReplyForm
from ..permissions import (
    ThreadAccess,
    access_thread,
    staff_mailbox_required,
)
from ..services.deliveries import deliveries_mark_read
from ..services.reads import access_log_citizen_read, access_log_citizen_reads
from .workspace import (
    THREAD_PANE,
    THREAD_READ,
    mailbox_url,
    nav_deferred,
    pane_requested,
    render_workspace,
)


def thread_url_for(access: ThreadAccess) -> str:
    if access.mailbox is not None:
        return reverse("mailboxes:thread", args=[access.mailbox.pk, access.thread.pk])
    return reverse("mailboxes:case_thread", args=[access.case.pk])


def _action_url(access: ThreadAccess, name: str) -> str:
    if access.mailbox is not None:
        return reverse(f"mailboxes:{name}", args=[access.mailbox.pk, access.thread.pk])
    return reverse(f"mailboxes:case_{name}", args=[access.case.pk])


def _attachment_url(access: ThreadAccess) -> str:
    """The download link of an attachment in this thread, with the attachment's id left as {0}."""
    if access.mailbox is not None:
        return selectors.url_pattern("mailboxes:attachment", 2).format(access.mailbox.pk, "{0}")
    return selectors.url_pattern("mailboxes:case_attachment", 2).format(access.case.pk, "{0}")


def cut_off_detail(access: ThreadAccess) -> dict | None:
    return None if access.visible_upto is None else {"through_message": access.visible_upto}


def render_thread(
    request,
    access: ThreadAccess,
    *,
    reply_form=None,
    citizen_form=None,
    note_form=None,
    mark_read: bool = False,
    status: int = 200,
):
    """The thread in the workspace (opened through a mailbox: the whole workspace, or its thread pane
    for htmx), or on a page of its own (opened through a case)."""
    pane = pane_requested(request) if access.mailbox is not None else None
    forms = {"reply_form": reply_form, "citizen_form": citizen_form, "note_form": note_form}
    context, marked = thread_context(request, access, mark_read=mark_read, **forms)
    if access.mailbox is None:
        return render(request, "mailboxes/thread.html", context, status=status)
    context["mailbox_url"] = mailbox_url(access.mailbox)
    context["open_thread_id"] = access.thread.pk
    if pane != THREAD_PANE:
        # The mailboxes and the list come in requests of their own (the page keeps its query
        # budget); without JavaScript the panes link to them.
        context.update(nav_deferred(), list_deferred=True, list_url=context["mailbox_url"])
    response = render_workspace(request, context, pane=pane, status=status)
    if marked and pane == THREAD_PANE:
        response["HX-Trigger"] = THREAD_READ  # the counts are polled at once, not in a while
    return response


def thread_context(
    request, access: ThreadAccess, *, reply_form, citizen_form, note_form, mark_read: bool
) -> tuple[dict, bool]:
    """What the thread pane shows, with the access log written and the thread marked read first;
    and whether it was marked read."""
    user = request.user
    thread = access.thread
    mark_read = bool(mark_read and access.summary is not None and access.summary.unread_count)
    if thread.is_citizen:
        # Before anything is read for the page: no log entry, no content. A reader whose need ended
        # reads only up to the cut-off, and the entry says so. Marking it read is an action of its
        # own, written with the read (one append).
        read = {"route": access.route, "thread": thread, "mailbox": access.mailbox, "case": access.case}
        reads = [{"action": AccessLogEntry.Action.READ_THREAD, "detail": cut_off_detail(access), **read}]
        if mark_read:
            reads.append({"action": AccessLogEntry.Action.MARK_READ, **read})
        access_log_citizen_reads(user=user, reads=reads)
    if mark_read:
        deliveries_mark_read(mailbox=access.mailbox, thread=thread, user=user)
        access.summary.unread_count = 0
    thread_messages = selectors.thread_messages(
        thread=thread, mailbox=access.mailbox, upto=access.visible_upto
    )
    selectors.messages_for_display(thread_messages, thread=thread, attachment_url=_attachment_url(access))
    context = {
        "access": access,
        "thread": thread,
        "mailbox": access.mailbox,
        "summary": access.summary,
        "case": access.case,
        "thread_messages": thread_messages,
        "thread_url": thread_url_for(access),
    }
    if thread.is_citizen and access.case is not None:
        context.update(_citizen_forms(user, access, citizen_form=citizen_form, note_form=note_form))
    elif not thread.is_citizen and access.mailbox is not None:
        context.update(_reply_forms(user, access, thread_messages, reply_form=reply_form))
    return context, mark_read


def _citizen_forms(user, access: ThreadAccess, *, citizen_form, note_form) -> dict:
    """The case team, and what the reader may do in a citizen thread: write to the citizen (the
    case's handler and co-handlers) and add an internal note."""
    case = access.case
    co_handlers, managers = case_selectors.case_team(case, reader=user)
    # What the page offers follows the case team already loaded (guardian's grant follows
    # case_assign, which sets that team); sending itself (actions.send_citizen) asks guardian.
    can_send = user.is_active and (case.handler_id == user.pk or any(u.pk == user.pk for u in co_handlers))
    context = {
        "co_handlers": co_handlers,
        "can_send": can_send,
        "send_url": _action_url(access, "send_citizen"),
        "note_url": _action_url(access, "note"),
        "note_form": note_form or NoteForm(prefix="note"),
    }
    if can_send:
        composer = composer_context(user, access)
        context.update(composer)
        context["citizen_form"] = citizen_form or CitizenMessageForm(
            prefix="citizen", user=user, initial=composer["draft_initial"]
        )
    else:
        context["managers"] = managers
    return context


def _reply_forms(user, access: ThreadAccess, thread_messages, *, reply_form) -> dict:
    """An internal thread's reply form, with who the reply goes to and who of them is away."""
    recipients = selectors.reply_recipients(messages=thread_messages, user=user, via_mailbox=access.mailbox)
    composer = composer_context(user, access)
    return {
        **composer,
        "reply_recipients": recipients,
        "away_notices": away_notices_for_mailboxes(recipients),
        "reply_form": reply_form or ReplyForm(prefix="reply", user=user, initial=composer["draft_initial"]),
        "reply_url": _action_url(access, "reply"),
    }


@require_GET
@staff_mailbox_required
def thread_view(request, mailbox_id: int, thread_id: int):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    return render_thread(request, access, mark_read=True)


def log_citizen_access(request, access: ThreadAccess, action: str, **fields) -> None:
    """An access-log entry for what this request shows of a citizen thread (nothing for internal
    threads); written before the page or file is handed out."""
    if access.thread.is_citizen:
        access_log_citizen_read(
            user=request.user,
            action=action,
            route=access.route,
            thread=access.thread,
            mailbox=access.mailbox,
            case=access.case,
            **fields,
        )


@require_GET
@staff_mailbox_required
def thread_print(request, mailbox_id: int, thread_id: int):
    """The thread laid out for paper: logged as a print (not a read) before anything is rendered;
    the thread is not marked read by printing it."""
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    log_citizen_access(request, access, AccessLogEntry.Action.PRINT, detail=cut_off_detail(access))
    thread_messages = selectors.thread_messages(
        thread=access.thread, mailbox=access.mailbox, upto=access.visible_upto
    )
    selectors.messages_for_display(
        thread_messages, thread=access.thread, attachment_url=_attachment_url(access)
    )
    context = {
        "access": access,
        "thread": access.thread,
        "mailbox": access.mailbox,
        "case": access.case,
        "thread_messages": thread_messages,
        "thread_url": thread_url_for(access),
        "printed_at": timezone.now(),
    }
    return render(request, "mailboxes/thread_print.html", context)


@require_GET
@staff_mailbox_required
def case_thread_view(request, case_id: int):
    access = access_case_thread(user=request.user, case_id=case_id)
    return render_thread(request, access)
