from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from audit.models import AccessLogEntry
from eservices.models import Case
from mailboxes.models import Mailbox, MailboxThread
from mailboxes.permissions import visible_upto_through

USE_MAILBOXES = "accounts.use_mailboxes"
DOWNLOAD_PDF = "accounts.download_case_file_pdf"


@dataclass(frozen=True)
class ExportAccess:
    case: Case
    route: str  # AccessLogEntry.Route: why this user may read the thread
    mailbox_id: int | None
    # The need-to-know cut-off (mailboxes.permissions.ThreadAccess): None, the whole thread.
    visible_upto: int | None = None


def can_export(user) -> bool:
    return user.is_authenticated and user.is_staff_user and user.has_perm(USE_MAILBOXES)


def can_download(user) -> bool:
    """The case-file PDF to the user's computer: the unit manager only (accounts.roles)."""
    return can_export(user) and user.has_perm(DOWNLOAD_PDF)


def access_export_thread(*, user, thread_id: int) -> ExportAccess:
    """The citizen thread, if `user` may read it and so export it: handler or co-handler of its case,
    member of the unit whose group mailbox holds it, or owner of a personal mailbox holding it.
    403 without the role permission; 404 alike for a missing thread and one the user may not see."""
    if not can_export(user):
        raise PermissionDenied
    case = (
        Case.objects.select_related("citizen", "eservice", "unit", "handler", "thread")
        .filter(thread_id=thread_id)
        .first()
    )
    if case is None:
        raise Http404
    if case.handler_id == user.pk or case.co_handlers.filter(pk=user.pk).exists():
        return ExportAccess(case=case, route=AccessLogEntry.Route.ASSIGNED_CASE, mailbox_id=None)
    holder = (
        MailboxThread.objects.filter(thread_id=thread_id)
        .filter(Q(mailbox__owner=user) | Q(mailbox__unit__memberships__user=user))
        # Protected identity: never through a group mailbox (mailboxes.permissions.is_protected).
        .exclude(mailbox__kind=Mailbox.Kind.GROUP, thread__case__citizen__protected_identity=True)
        .select_related("mailbox")
        .annotate(visible_upto=visible_upto_through())
        # The route that shows the most, then the own mailbox ("personal") before a group's.
        .order_by("-visible_upto", "-mailbox__kind", "mailbox_id")
        .first()
    )
    if holder is None:
        raise Http404
    route = (
        AccessLogEntry.Route.OWN_MAILBOX
        if holder.mailbox.kind == Mailbox.Kind.PERSONAL
        else AccessLogEntry.Route.GROUP_MAILBOX
    )
    return ExportAccess(
        case=case, route=route, mailbox_id=holder.mailbox_id, visible_upto=holder.visible_upto
    )
