"""Who may open which mailbox, thread and attachment. Every view goes through one `access_*` helper
per object; each fetches and authorises in one query and raises Http404 alike for "missing" and
"forbidden", so ids reveal nothing.

A personal mailbox is its owner's. A group mailbox is open to the members of its unit: membership puts
the user in the mailbox's Django group, which holds the guardian object permission
`mailboxes.access_mailbox`; the lists below read that grant in SQL (never one has_perm per row).
Administrators and system administrators manage membership but do not thereby read content: content
needs the role permission `accounts.use_mailboxes` on top (the `staff_mailbox_required` decorator).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from guardian.models import GroupObjectPermission

from audit.models import AccessLogEntry
from eservices.models import Case

from .models import Attachment, Mailbox, MailboxThread, Thread

USE_MAILBOXES = "accounts.use_mailboxes"


def can_use_mailboxes(user) -> bool:
    return user.is_authenticated and not user.is_citizen and user.has_perm(USE_MAILBOXES)


def staff_mailbox_required(view):
    """Logged-in staff with the role permission to read and write in mailboxes; 403 for other roles."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_use_mailboxes(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def accessible_mailboxes(user) -> QuerySet[Mailbox]:
    """The mailboxes `user` may open, as one SQL filter: their own, and the group mailboxes a group
    of theirs holds the guardian permission for."""
    granted = GroupObjectPermission.objects.filter(
        content_type__app_label="mailboxes",
        content_type__model="mailbox",
        permission__codename="access_mailbox",
        group__user=user,
    ).values("object_pk")
    return Mailbox.objects.alias(pk_text=Cast("pk", CharField())).filter(
        Q(kind=Mailbox.Kind.PERSONAL, owner=user) | Q(kind=Mailbox.Kind.GROUP, pk_text__in=granted)
    )


def access_mailbox(*, user, mailbox_id: int, among: list[Mailbox] | None = None) -> Mailbox:
    """The mailbox, if `user` may open it. `among` is the user's mailboxes already fetched with
    accessible_mailboxes for this request (the page's mailbox list): picking from it saves a query
    and applies exactly the same rule."""
    if among is not None:
        mailbox = next((m for m in among if m.pk == mailbox_id), None)
    else:
        mailbox = accessible_mailboxes(user).filter(pk=mailbox_id).first()
    if mailbox is None:
        raise Http404
    return mailbox


@dataclass
class ThreadAccess:
    """A thread as opened by one user, and through what: a mailbox that holds it (with that
    mailbox's summary row), or a case the user handles or co-handles."""

    thread: Thread
    route: str
    mailbox: Mailbox | None = None
    summary: MailboxThread | None = None
    case: Case | None = None

    @property
    def is_citizen(self) -> bool:
        return self.thread.is_citizen


def _case_of(thread: Thread) -> Case | None:
    try:
        return thread.case
    except Case.DoesNotExist:
        return None


def access_thread(*, user, mailbox_id: int, thread_id: int) -> ThreadAccess:
    """A thread opened through a mailbox the user may access and that holds it (its summary row)."""
    summary = (
        MailboxThread.objects.select_related(
            "mailbox",
            "thread",
            "thread__case",
            "thread__case__citizen",
            "thread__case__eservice",
            "thread__case__handler",
            "thread__case__unit",
            "taken_by",
            "handled_by",
        )
        .filter(mailbox_id=mailbox_id, thread_id=thread_id, mailbox__in=accessible_mailboxes(user))
        .first()
    )
    if summary is None:
        raise Http404
    mailbox = summary.mailbox
    route = AccessLogEntry.Route.GROUP_MAILBOX if mailbox.is_group else AccessLogEntry.Route.OWN_MAILBOX
    return ThreadAccess(
        thread=summary.thread, route=route, mailbox=mailbox, summary=summary, case=_case_of(summary.thread)
    )


def cases_handled_by(user) -> QuerySet[Case]:
    """Cases where `user` is the handler or a co-handler, in one SQL filter."""
    co = Case.co_handlers.through.objects.filter(case_id=OuterRef("pk"), user_id=user.pk)
    return Case.objects.filter(Q(handler_id=user.pk) | Q(Exists(co)))


def access_case_thread(*, user, case_id: int) -> ThreadAccess:
    """A citizen thread opened through a case the user handles or co-handles (route assigned_case)."""
    case = (
        cases_handled_by(user)
        .select_related("thread", "citizen", "eservice", "handler", "unit")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Http404
    return ThreadAccess(thread=case.thread, route=AccessLogEntry.Route.ASSIGNED_CASE, case=case)


def access_attachment(
    *, user, attachment_id: int, mailbox_id: int | None = None, case_id: int | None = None
) -> tuple[Attachment, ThreadAccess]:
    """An attachment of a message in a thread the user may open through that mailbox or case."""
    attachment = (
        Attachment.objects.select_related("message").filter(pk=attachment_id, message__isnull=False).first()
    )
    if attachment is None:
        raise Http404
    if case_id is not None:
        access = access_case_thread(user=user, case_id=case_id)
        if access.thread.pk != attachment.message.thread_id:
            raise Http404
    else:
        access = access_thread(user=user, mailbox_id=mailbox_id, thread_id=attachment.message.thread_id)
    return attachment, access
