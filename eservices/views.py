"""The citizen portal ("Mina meddelanden") under /medborgare/. accounts.middleware keeps staff sessions
out of these URLs and citizen sessions out of everything else; `citizen_required` is the view's own
check on top of that."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from absence.selectors import handler_is_away
from accounts.backends import MODEL_BACKEND
from accounts.oidc.logout import end_session_url
from lifemsg.ratelimits import RATE_LIMITED_MESSAGE, send_rate_exceeded

from . import selectors
from .eid_testlogin import citizen_login_test_eid
from .forms import CitizenMessageForm, ConversationStartForm, NotificationSettingsForm, TestEidLoginForm
from .models import Citizen, EService
from .permissions import access_citizen_attachment, access_citizen_case
from .services import (
    CaseClosed,
    case_mark_read_by_citizen,
    citizen_conversation_start,
    citizen_message_send_if_open,
    citizen_message_write,
    citizen_notification_settings_update,
)


def citizen_required(view):
    """Only a logged-in citizen; anyone else is sent to the citizen login (staff are stopped earlier,
    with 403, by SessionKindMiddleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("eservices:login"))
        if not request.user.is_citizen:
            raise Http404
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


# --- login and logout ------------------------------------------------------------------------


@never_cache
def citizen_login(request):
    """Start page for citizens: e-ID through OIDC in production, a labelled test login in development."""
    if request.user.is_authenticated and request.user.is_citizen:
        return redirect("eservices:portal")
    form = None
    if settings.CITIZEN_TEST_LOGIN_ENABLED:
        form = TestEidLoginForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            user = citizen_login_test_eid(request=request, personnummer=form.cleaned_data["personnummer"])
            if user is None:
                form.add_error(None, _("We have no messages for this personal identity number."))
            else:
                if request.user.is_authenticated:
                    logout(request)
                login(request, user, backend=MODEL_BACKEND)
                return redirect("eservices:portal")
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "eservices/login.html",
        {
            "form": form,
            "oidc_enabled": settings.CITIZEN_OIDC_ENABLED,
            "staff_session": request.user.is_authenticated and not request.user.is_citizen,
            "idle_minutes": settings.CITIZEN_SESSION_IDLE_SECONDS // 60,
        },
    )


@require_POST
def citizen_logout(request):
    # Also at the e-ID broker when it has an end-session endpoint: otherwise the next person at a
    # shared computer would be let in as this citizen without being asked (accounts.oidc.logout).
    broker_url = end_session_url(request)
    logout(request)
    messages.success(request, _("You are logged out."))
    return redirect(broker_url or "eservices:login")


# --- portal ----------------------------------------------------------------------------------


@citizen_required
def portal(request):
    citizen = request.user.citizen
    cases = list(selectors.citizen_cases(citizen=citizen))
    return render(
        request,
        "eservices/portal.html",
        {
            "citizen": citizen,
            "cases": cases,
            "unread_total": sum(c.unread_count for c in cases),
            "startable": selectors.startable_eservices(),
        },
    )


def _refused_send(request, form) -> int | None:
    """Checks a citizen's sending form: None when it may be sent, else the status to show it again
    with (200 with its errors, 429 over the rate limit). Either way the files it accepted are stored
    and shown ticked, so nothing has to be chosen again."""
    if not form.is_valid():
        form.keep_uploads()
        return 200
    if send_rate_exceeded(request, group="citizen-send"):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        form.keep_uploads()
        return 429
    return None


def _sent(request, case_id: int):
    messages.success(request, _("Your message has been sent."))
    return redirect(reverse("eservices:case", args=[case_id]) + "#latest")


@citizen_required
def case_detail(request, case_id: int):
    """A case's thread: read (marks read for the citizen) and write."""
    form = CitizenMessageForm(request.POST or None, request.FILES or None, user=request.user)
    status = 200
    # A plain send (the common one, no files new or kept) is checked first, and then stored in one
    # statement with the check that the case is the citizen's own and open
    # (citizen_message_send_if_open). If it is not, nothing is stored and the case is read below to
    # answer as for any request: 404 for someone else's or a missing case, 403 for a closed one.
    # A send with files is checked only after that, so that no file is kept for such a case.
    plain = request.method == "POST" and not request.FILES and not form.has_kept
    refused = _refused_send(request, form) if plain else None
    if plain and refused is None:
        body = form.cleaned_data["body"]
        if citizen_message_send_if_open(case_id=case_id, citizen_user=request.user, body=body):
            return _sent(request, case_id)
    case = access_citizen_case(user=request.user, case_id=case_id, for_page=request.method != "POST")
    if request.method == "POST":
        if not case.is_open:
            raise PermissionDenied
        if not plain:
            refused = _refused_send(request, form)
        if refused is not None:
            status = refused
        else:
            try:
                citizen_message_write(
                    case=case,
                    citizen_user=request.user,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["attachments"],
                    kept=form.kept_uploads(),
                )
            except CaseClosed:
                raise PermissionDenied
            return _sent(request, case.pk)
    thread_messages = selectors.citizen_thread_messages(case=case)
    read_before = case.citizen_last_read_at
    new_ids = {
        m.pk
        for m in thread_messages
        if not m.sent_by_citizen and (read_before is None or m.created_at > read_before)
    }
    response = render(
        request,
        "eservices/case_detail.html",
        {
            "case": case,
            "thread_messages": thread_messages,
            "new_ids": new_ids,
            "form": form,
            "handler_away": case.is_open and handler_is_away(case.handler_id),
        },
        status=status,
    )
    # Marked read only once the page has rendered: a failed render leaves them unread.
    if thread_messages:
        case_mark_read_by_citizen(case=case, up_to=thread_messages[-1].created_at)
    return response


@citizen_required
def attachment_download(request, attachment_id: int):
    attachment = access_citizen_attachment(user=request.user, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@citizen_required
def conversation_choose(request):
    startable = selectors.startable_eservices()
    if len(startable) == 1:
        return redirect("eservices:conversation_start", slug=startable[0].slug)
    return render(request, "eservices/conversation_choose.html", {"startable": startable})


@citizen_required
def conversation_start(request, slug: str):
    eservice = EService.objects.filter(slug=slug, citizen_can_start=True).first()
    if eservice is None:
        raise Http404
    form = ConversationStartForm(
        request.POST or None, request.FILES or None, eservice=eservice, user=request.user
    )
    status = 200
    if request.method == "POST":
        refused = _refused_send(request, form)
        if refused is not None:
            status = refused
        else:
            case = citizen_conversation_start(
                citizen=request.user.citizen,
                eservice=eservice,
                topic=form.cleaned_data.get("topic"),
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
                kept=form.kept_uploads(),
            )
            messages.success(request, _("Your message has been sent."))
            return redirect(reverse("eservices:case", args=[case.pk]) + "#latest")
    return render(
        request, "eservices/conversation_start.html", {"eservice": eservice, "form": form}, status=status
    )


@citizen_required
def notification_settings(request):
    citizen = request.user.citizen
    initial = {
        "channel": citizen.notify_channel,
        "email": citizen.notify_email,
        "phone": citizen.notify_phone,
    }
    form = NotificationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        channel = data["channel"]
        # Keep only the addresses the chosen channel uses: nothing stored that is not needed.
        email = data["email"] if channel in (Citizen.Channel.EMAIL, Citizen.Channel.BOTH) else ""
        phone = data["phone"] if channel in (Citizen.Channel.SMS, Citizen.Channel.BOTH) else ""
        citizen_notification_settings_update(citizen=citizen, channel=channel, email=email, phone=phone)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("eservices:settings")
    return render(request, "eservices/settings.html", {"form": form, "citizen": citizen})
