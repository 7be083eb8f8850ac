"""Staff inbox views. Thin: parse with a form, open the object through mailboxes.permissions, call
one service or selector, render or redirect. Every render of a citizen thread (and every attachment
download) writes its access-log entry first; if that fails, nothing is shown."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from absence.selectors import away_notices_for_mailboxes
from accounts.idle import idle_passive
from audit.models import AccessLogEntry
from eservices import selectors as case_selectors
from eservices.permissions import access_case_attachment, access_case_thread, can_send_to_citizen
from lifemsg.ratelimits import RATE_LIMITED_MESSAGE, send_rate_exceeded

from . import selectors
from .forms import CitizenMessageForm, ComposeForm, ForwardForm, NoteForm, ReplyForm, SearchForm
from .models import MailboxThread
from .permissions import (
    ThreadAccess,
    access_attachment,
    access_mailbox,
    access_thread,
    is_protected,
    staff_mailbox_required,
)
from .search import SearchPaginator, search_threads
from .sending import (
    citizen_note_add,
    citizen_reply_send,
    internal_message_send,
    internal_reply_send,
    thread_forward_by_hand,
    thread_state_change,
)
from .services.deliveries import deliveries_mark_read
from .services.reads import access_log_citizen_read, access_log_citizen_reads
from .services.units import mailbox_personal_for

# --- mailbox list, unread counts, thread list --------------------------------------------------


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


# --- a thread ----------------------------------------------------------------------------------


def _thread_url(access: ThreadAccess) -> str:
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


def _cut_off_detail(access: ThreadAccess) -> dict | None:
    return None if access.visible_upto is None else {"through_message": access.visible_upto}


def _render_thread(
    request,
    access: ThreadAccess,
    *,
    reply_form=None,
    citizen_form=None,
    note_form=None,
    mark_read: bool = False,
    status: int = 200,
):
    user = request.user
    thread = access.thread
    mark_read = bool(mark_read and access.summary is not None and access.summary.unread_count)
    if thread.is_citizen:
        # Before anything is read for the page: no log entry, no content. A reader whose need ended
        # reads only up to the cut-off, and the entry says so. Marking it read is an action of its
        # own, written with the read (one append).
        read = {"route": access.route, "thread": thread, "mailbox": access.mailbox, "case": access.case}
        reads = [{"action": AccessLogEntry.Action.READ_THREAD, "detail": _cut_off_detail(access), **read}]
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
        "thread_url": _thread_url(access),
    }
    if thread.is_citizen and access.case is not None:
        case = access.case
        co_handlers, managers = case_selectors.case_team(case, reader=user)
        # What the page offers follows the case team already loaded (guardian's grant follows
        # case_assign, which sets that team); sending itself (_send_citizen) asks guardian.
        can_send = user.is_active and (
            case.handler_id == user.pk or any(u.pk == user.pk for u in co_handlers)
        )
        context.update(
            {
                "co_handlers": co_handlers,
                "can_send": can_send,
                "send_url": _action_url(access, "send_citizen"),
                "note_url": _action_url(access, "note"),
                "note_form": note_form or NoteForm(prefix="note"),
            }
        )
        if can_send:
            context["citizen_form"] = citizen_form or CitizenMessageForm(prefix="citizen", user=user)
        else:
            context["managers"] = managers
    elif not thread.is_citizen and access.mailbox is not None:
        recipients = selectors.reply_recipients(
            messages=thread_messages, user=user, via_mailbox=access.mailbox
        )
        context.update(
            {
                "reply_recipients": recipients,
                "away_notices": away_notices_for_mailboxes(recipients),
                "reply_form": reply_form or ReplyForm(prefix="reply", user=user),
                "reply_url": _action_url(access, "reply"),
            }
        )
    return render(request, "mailboxes/thread.html", context, status=status)


@require_GET
@staff_mailbox_required
def thread_view(request, mailbox_id: int, thread_id: int):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    return _render_thread(request, access, mark_read=True)


def _log_citizen_access(request, access: ThreadAccess, action: str, **fields) -> None:
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
    _log_citizen_access(request, access, AccessLogEntry.Action.PRINT, detail=_cut_off_detail(access))
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
        "thread_url": _thread_url(access),
        "printed_at": timezone.now(),
    }
    return render(request, "mailboxes/thread_print.html", context)


@require_GET
@staff_mailbox_required
def case_thread_view(request, case_id: int):
    access = access_case_thread(user=request.user, case_id=case_id)
    return _render_thread(request, access)


@require_POST
@staff_mailbox_required
def reply(request, mailbox_id: int, thread_id: int):
    access = access_thread(user=request.user, mailbox_id=mailbox_id, thread_id=thread_id)
    if access.thread.is_citizen:
        raise Http404  # a citizen thread is answered through the e-service (send_citizen)
    form = ReplyForm(request.POST, request.FILES, prefix="reply", user=request.user)
    if not form.is_valid():
        form.keep_uploads()
        return _render_thread(request, access, reply_form=form, status=400)
    thread_messages = selectors.thread_messages(thread=access.thread, mailbox=access.mailbox)
    recipients = selectors.reply_recipients(
        messages=thread_messages, user=request.user, via_mailbox=access.mailbox
    )
    if not recipients:
        form.add_error(None, _("There is nobody else in this conversation to reply to."))
        form.keep_uploads()
        return _render_thread(request, access, reply_form=form, status=400)
    if send_rate_exceeded(request, group="staff-send"):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        form.keep_uploads()
        return _render_thread(request, access, reply_form=form, status=429)
    internal_reply_send(
        access=access,
        sender=request.user,
        recipients=recipients,
        body=form.cleaned_data["body"],
        attachments=form.attachments_to_attach(),
    )
    messages.success(request, _("Your reply has been sent."))
    return redirect(_thread_url(access))


def _send_citizen(request, access: ThreadAccess):
    if not access.thread.is_citizen or access.case is None:
        raise Http404
    # Only the case's handler and co-handlers; refused here whatever the page showed.
    if not can_send_to_citizen(user=request.user, case=access.case):
        raise PermissionDenied
    form = CitizenMessageForm(request.POST, request.FILES, prefix="citizen", user=request.user)
    if not form.is_valid():
        form.keep_uploads()
        return _render_thread(request, access, citizen_form=form, status=400)
    if send_rate_exceeded(request, group="staff-send"):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        form.keep_uploads()
        return _render_thread(request, access, citizen_form=form, status=429)
    citizen_reply_send(
        access=access,
        sender=request.user,
        body=form.cleaned_data["body"],
        attachments=form.attachments_to_attach(),
    )
    messages.success(request, _("Your message has been sent to the citizen."))
    return redirect(_thread_url(access))


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
        return _render_thread(request, access, note_form=form, status=400)
    citizen_note_add(
        access=access,
        author=request.user,
        via_mailbox=access.mailbox or mailbox_personal_for(request.user),
        body=form.cleaned_data["body"],
    )
    messages.success(request, _("Your internal note has been saved."))
    return redirect(_thread_url(access))


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
    return redirect(_thread_url(access))


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
            return redirect(_thread_url(access))
    # The form names the citizen and the subject: a read, logged before anything is rendered.
    _log_citizen_access(request, access, AccessLogEntry.Action.READ_THREAD, detail={"page": "forward"})
    context = {"access": access, "thread": access.thread, "mailbox": access.mailbox, "form": form}
    return render(request, "mailboxes/forward.html", context, status=400 if form.errors else 200)


# --- attachments -------------------------------------------------------------------------------


def _download(request, attachment, access: ThreadAccess):
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404
    if access.thread.is_citizen:
        try:
            _log_citizen_access(
                request,
                access,
                AccessLogEntry.Action.DOWNLOAD_ATTACHMENT,
                object_type="attachment",
                object_id=attachment.pk,
                detail={"filename": attachment.filename},
            )
        except Exception:
            handle.close()
            raise
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"  # also set globally; never sniffed whatever the settings
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@staff_mailbox_required
def attachment_download(request, mailbox_id: int, attachment_id: int):
    attachment, access = access_attachment(
        user=request.user, attachment_id=attachment_id, mailbox_id=mailbox_id
    )
    return _download(request, attachment, access)


@require_GET
@staff_mailbox_required
def case_attachment_download(request, case_id: int, attachment_id: int):
    attachment, access = access_case_attachment(
        user=request.user, attachment_id=attachment_id, case_id=case_id
    )
    return _download(request, attachment, access)


# --- a new internal message, with the mail tip ------------------------------------------------


def _away_fingerprint(notices) -> str:
    return ",".join(f"{n.user_id}:{n.until.isoformat() if n.until else '-'}" for n in notices)


@require_http_methods(["GET", "POST"])
@staff_mailbox_required
def compose(request):
    user = request.user
    notices = []
    confirm = False
    if request.method == "GET":
        initial = {}
        if request.GET.get("till", "").isdigit():
            initial["recipients"] = [request.GET["till"]]
        form = ComposeForm(user=user, initial=initial)
        return render(request, "mailboxes/compose.html", {"form": form})
    check_only = request.POST.get("action") == "check"
    status = None
    form = ComposeForm(request.POST, request.FILES, user=user, check_only=check_only)
    if form.is_valid():
        recipients = form.cleaned_data["recipients"]
        notices = away_notices_for_mailboxes(recipients)
        acknowledged = request.POST.get("away_acknowledged", "") == _away_fingerprint(notices)
        if check_only or (notices and not acknowledged):
            # Shown before sending: who is away, until when, where the message will also go.
            form.keep_uploads()
            confirm = bool(notices) and not check_only
        elif send_rate_exceeded(request, group="staff-send"):
            form.add_error(None, RATE_LIMITED_MESSAGE)
            form.keep_uploads()
            status = 429
        else:
            message = internal_message_send(
                sender=user,
                recipients=recipients,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                attachments=form.attachments_to_attach(),
            )
            messages.success(request, _("Your message has been sent."))
            return redirect(
                "mailboxes:thread", mailbox_id=message.sender_mailbox_id, thread_id=message.thread_id
            )
    else:
        form.keep_uploads()
        if "recipients" in form.cleaned_data:
            notices = away_notices_for_mailboxes(form.cleaned_data["recipients"])
    context = {
        "form": form,
        "away_notices": notices,
        "away_fingerprint": _away_fingerprint(notices),
        "checked": check_only,
        "confirm": confirm,
    }
    if status is None:
        status = 400 if form.errors else 200
    return render(request, "mailboxes/compose.html", context, status=status)


@require_GET
@staff_mailbox_required
def away_tip(request):
    """htmx partial: the mail tip for the recipients currently chosen in the composer."""
    ids = [v for v in request.GET.getlist("recipients") if v.isdigit()]
    chosen = list(selectors.recipient_mailboxes(request.user).filter(pk__in=ids))
    notices = away_notices_for_mailboxes(chosen)
    context = {"away_notices": notices, "away_fingerprint": _away_fingerprint(notices)}
    return render(request, "mailboxes/_away_tip.html", context)


# --- search ------------------------------------------------------------------------------------


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
