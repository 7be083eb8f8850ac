"""Journalföring of a citizen thread (to the case system, or as a download for the roles that need
it), and the API docs page."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from drf_spectacular.views import SpectacularSwaggerSplitView

from audit.models import AccessLogEntry

from .casefile import case_file_entry_create, case_file_receiver
from .export import sender_label, thread_pdf
from .forms import ExportForm
from .permissions import ExportAccess, access_export_thread, can_download
from .services import thread_export_create, thread_export_form_read_record


def _visible_messages(access: ExportAccess) -> list:
    visible = access.case.thread.messages.all()
    if access.visible_upto is not None:  # not on the case team: what reached their mailbox
        visible = visible.filter(id__lte=access.visible_upto)
    return list(visible.select_related("sender").prefetch_related("attachments").order_by("created_at", "id"))


def _thread_url(access: ExportAccess) -> str:
    """The thread page the user came through: the case's own view, or the mailbox's."""
    if access.route == AccessLogEntry.Route.ASSIGNED_CASE or access.mailbox_id is None:
        return reverse("mailboxes:case_thread", args=[access.case.pk])
    return reverse("mailboxes:thread", args=[access.mailbox_id, access.case.thread_id])


def _form(request: HttpRequest, messages: list) -> ExportForm:
    ids = [m.pk for m in messages]
    return ExportForm(
        request.POST if request.method == "POST" else None,
        message_ids=ids,
        initial={"messages": ids, "request_key": uuid.uuid4()},
    )


def _chosen_pdf(request: HttpRequest, access: ExportAccess, form: ExportForm, messages: list):
    chosen_ids = set(form.cleaned_data["messages"])
    chosen = [m for m in messages if m.pk in chosen_ids]
    pdf = thread_pdf(
        case=access.case,
        messages=chosen,
        exported_by=request.user,
        exported_at=timezone.now(),
        total=len(messages),
    )
    return chosen, pdf


def _page(request: HttpRequest, access: ExportAccess, form: ExportForm, messages: list, receiver):
    """The export form; showing it is a read of the thread, logged before it is rendered."""
    case = access.case
    thread_export_form_read_record(
        case=case, user=request.user, route=access.route, mailbox_id=access.mailbox_id
    )
    selected = (
        {str(v) for v in (form["messages"].value() or [])} if form.is_bound else {str(m.pk) for m in messages}
    )
    rows = [
        {"message": m, "sender": sender_label(m, case), "checked": str(m.pk) in selected} for m in messages
    ]
    context = {
        "case": case,
        "thread": case.thread,
        "form": form,
        "rows": rows,
        "receiver": receiver,
        "may_download": can_download(request.user),
        "thread_url": _thread_url(access),
    }
    return render(request, "integrations/export_thread.html", context, status=400 if form.is_bound else 200)


@never_cache
@login_required
def export_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Journalför: the chosen messages as PDF/A to the case system (integrations.casefile)."""
    access = access_export_thread(user=request.user, thread_id=thread_id)
    messages = _visible_messages(access)
    form = _form(request, messages)
    receiver = case_file_receiver()
    if request.method == "POST" and form.is_valid():
        if receiver is None:
            form.add_error(
                None, _("No case system is connected for journalföring. Tell the system administrator.")
            )
        else:
            chosen, pdf = _chosen_pdf(request, access, form, messages)
            case_file_entry_create(
                case=access.case,
                user=request.user,
                client=receiver,
                messages=chosen,
                whole_thread=len(chosen) == len(messages),
                route=access.route,
                mailbox_id=access.mailbox_id,
                pdf_bytes=pdf,
                request_key=form.cleaned_data["request_key"] or uuid.uuid4(),
            )
            return redirect(_thread_url(access))
    return _page(request, access, form, messages, receiver)


@never_cache
@login_required
@require_POST
def export_thread_download(request: HttpRequest, thread_id: int) -> HttpResponse:
    """The same PDF/A to the user's computer: only for roles that need a copy outside the case
    system (accounts.download_case_file_pdf); 403 for others before the thread is looked up."""
    if not can_download(request.user):
        raise PermissionDenied
    access = access_export_thread(user=request.user, thread_id=thread_id)
    messages = _visible_messages(access)
    form = _form(request, messages)
    if not form.is_valid():
        return _page(request, access, form, messages, case_file_receiver())
    chosen, pdf = _chosen_pdf(request, access, form, messages)
    # Logged (access log, export row) before the PDF leaves the server.
    export = thread_export_create(
        case=access.case,
        user=request.user,
        messages=chosen,
        whole_thread=len(chosen) == len(messages),
        route=access.route,
        mailbox_id=access.mailbox_id,
        pdf_bytes=pdf,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{access.case.reference}-{timezone.localtime(export.exported_at):%Y%m%d-%H%M}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files, in a page without inline style (CSP)."""

    template_name = "integrations/api_docs.html"
    authentication_classes: list = []
