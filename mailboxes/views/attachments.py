"""Attachment downloads, logged for citizen threads before the file is handed out."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from audit.models import AccessLogEntry
from eservices.permissions import access_case_attachment

from ..permissions import (
    ThreadAccess,
    access_attachment,
    staff_mailbox_required,
)
from .thread import log_citizen_access


def _download(request, attachment, access: ThreadAccess):
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404
    if access.thread.is_citizen:
        try:
            log_citizen_access(
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
