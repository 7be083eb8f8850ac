"""A new internal message, with the mail tip (who among the recipients is away)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from absence.selectors import away_notices_for_mailboxes
from lifemsg.ratelimits import RATE_LIMITED_MESSAGE, send_rate_exceeded

from .. import selectors
from ..forms import ComposeForm
from ..permissions import (
    staff_mailbox_required,
)
from ..sending import (
    internal_message_send,
)


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
