"""Export of a citizen thread to the case file (journalföring), and the staff SSO failure page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from drf_spectacular.views import SpectacularSwaggerSplitView

from .export import sender_label, thread_pdf
from .forms import ExportForm
from .permissions import access_export_thread
from .services import thread_export_create, thread_export_form_read_record


@never_cache
@login_required
def export_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    access = access_export_thread(user=request.user, thread_id=thread_id)
    case = access.case
    visible = case.thread.messages.all()
    if access.visible_upto is not None:  # not on the case team: what reached their mailbox
        visible = visible.filter(id__lte=access.visible_upto)
    messages = list(
        visible.select_related("sender").prefetch_related("attachments").order_by("created_at", "id")
    )
    ids = [m.pk for m in messages]
    form = ExportForm(
        request.POST if request.method == "POST" else None, message_ids=ids, initial={"messages": ids}
    )
    if request.method == "POST" and form.is_valid():
        chosen_ids = set(form.cleaned_data["messages"])
        chosen = [m for m in messages if m.pk in chosen_ids]
        now = timezone.now()
        pdf = thread_pdf(
            case=case, messages=chosen, exported_by=request.user, exported_at=now, total=len(messages)
        )
        # Logged (access log, export row) before the PDF leaves the server.
        thread_export_create(
            case=case,
            user=request.user,
            messages=chosen,
            whole_thread=len(chosen) == len(messages),
            route=access.route,
            mailbox_id=access.mailbox_id,
            pdf_bytes=pdf,
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        filename = f"{case.reference}-{timezone.localtime(now):%Y%m%d-%H%M}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    thread_export_form_read_record(
        case=case, user=request.user, route=access.route, mailbox_id=access.mailbox_id
    )
    selected = {str(v) for v in (form["messages"].value() or [])} if form.is_bound else {str(i) for i in ids}
    rows = [
        {"message": m, "sender": sender_label(m, case), "checked": str(m.pk) in selected} for m in messages
    ]
    return render(
        request,
        "integrations/export_thread.html",
        {
            "case": case,
            "thread": case.thread,
            "form": form,
            "rows": rows,
        },
        status=400 if form.is_bound else 200,
    )


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files, in a page without inline style (CSP)."""

    template_name = "integrations/api_docs.html"
    authentication_classes: list = []
