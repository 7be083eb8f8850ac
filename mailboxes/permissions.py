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

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import (
    BigIntegerField,
    CharField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as DjangoCase
from django.db.models.functions import Cast, Coalesce, Greatest
from django.http import Http404
from guardian.models import GroupObjectPermission

from accounts.roles import known_group_ids
from audit.models import AccessLogEntry
from lifemsg.perf.compiled import CompiledQuery

from . import hooks
from .models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread

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


def _granted_mailbox_pks(
    *, user_id: int, group_ids: tuple[int, ...] | None, content_type_id: int
) -> QuerySet:
    """pks (as text: guardian's object_pk) of the mailboxes a group of the user holds `access_mailbox`
    on. The content type is given (Django's per-process cache has it) and the user's groups come
    straight from the through table, so the subquery joins two tables instead of five (less for
    PostgreSQL to plan on every page that checks access); when the request's permission check has
    read the user's groups already (`group_ids`), they are given as a list instead of a nested
    subquery."""
    if group_ids is None:
        groups = get_user_model().groups.through.objects.filter(user_id=user_id).values("group_id")
    else:
        groups = list(group_ids)
    return GroupObjectPermission.objects.filter(
        content_type_id=content_type_id, permission__codename="access_mailbox", group_id__in=groups
    ).values("object_pk")


def may_open_args(user) -> tuple[dict, dict]:
    """What `may_open` needs of `user`, split as lifemsg.perf.compiled wants it: (shape, values). The
    user's groups, when known, change the SQL (an IN list), so they are shape."""
    group_ids = known_group_ids(user)
    shape = {"group_ids": None if group_ids is None else tuple(sorted(group_ids))}
    values = {"user_id": user.pk, "content_type_id": ContentType.objects.get_for_model(Mailbox).pk}
    return shape, values


def may_open(
    *,
    user_id: int,
    group_ids: tuple[int, ...] | None,
    content_type_id: int,
    mailbox: str = "",
    pk_text: str = "pk_text",
) -> Q:
    """The access rule as a condition on a mailbox (`mailbox`: the lookup prefix that reaches it;
    `pk_text`: an alias holding its pk as text): the user's own personal mailbox, or a group mailbox
    one of their groups holds the guardian grant for. `group_ids` None: read from the database."""
    own = Q(**{f"{mailbox}kind": Mailbox.Kind.PERSONAL, f"{mailbox}owner_id": user_id})
    if group_ids == ():  # in no group: no grant can reach them
        return own
    granted = _granted_mailbox_pks(user_id=user_id, group_ids=group_ids, content_type_id=content_type_id)
    return own | Q(**{f"{mailbox}kind": Mailbox.Kind.GROUP, f"{pk_text}__in": granted})


def mailboxes_may_open(**may_open_args) -> QuerySet[Mailbox]:
    """accessible_mailboxes, given `may_open`'s arguments (for queries compiled once)."""
    return Mailbox.objects.alias(pk_text=Cast("pk", CharField())).filter(may_open(**may_open_args))


def accessible_mailboxes(user) -> QuerySet[Mailbox]:
    """The mailboxes `user` may open, as one SQL filter: their own, and the group mailboxes a group
    of theirs holds the guardian permission for."""
    shape, values = may_open_args(user)
    return mailboxes_may_open(**shape, **values)


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
    mailbox's summary row), or a case the user handles or co-handles.

    `visible_upto` is the need-to-know cut-off (guarantee 9): None, the whole thread; else the id
    of the last message this user may read through this route. `hidden_later` says that the thread
    goes on beyond it."""

    thread: Thread
    route: str
    mailbox: Mailbox | None = None
    summary: MailboxThread | None = None
    # The eservices.Case of a citizen thread (eservices builds on this module: no import of it here).
    case: object | None = None
    visible_upto: int | None = None
    hidden_later: bool = False

    @property
    def is_citizen(self) -> bool:
        return self.thread.is_citizen

    def shows(self, message_id: int) -> bool:
        return self.visible_upto is None or message_id <= self.visible_upto


# --- need to know (guarantee 9) ---------------------------------------------------------------
#
# The one visibility rule every staff read of a citizen thread applies: the case's current handler
# and co-handlers see the whole thread; anyone else, opening it through a mailbox, sees the messages
# up to the latest one that reached that mailbox (delivered there, or written from it), the earlier
# ones being context. An absence that ended, a case that moved or a one-off forward thus opens
# nothing written afterwards. These are expressions, so each read applies the rule inside the query
# that authorises it (no query of its own).


def on_case_team(*, user_id: int, thread: str = "thread__") -> Q:
    """The user is the handler or a co-handler of the case of the thread reached by the lookup
    prefix `thread`. Cases are eservices', which gives the condition (mailboxes.hooks)."""
    return hooks.case_team_condition(user_id=user_id, thread=thread)


def visible_upto_through(*, mailbox: str = "mailbox_id", thread: str = "thread_id") -> Greatest:
    """The id of the latest message of the thread that reached the mailbox (outer references
    `mailbox` and `thread`): its deliveries there (index mailbox, thread) and the messages written
    from it (notes and replies keep no copy in the mailbox they were written from); 0 if none."""
    delivered = (
        Delivery.objects.filter(mailbox_id=OuterRef(mailbox), thread_id=OuterRef(thread))
        .order_by("-message_id")
        .values("message_id")[:1]
    )
    written = (
        Message.objects.filter(thread_id=OuterRef(thread), sender_mailbox_id=OuterRef(mailbox))
        .order_by("-id")
        .values("id")[:1]
    )
    ids = BigIntegerField()
    return Greatest(
        Coalesce(Subquery(delivered, output_field=ids), Value(0), output_field=ids),
        Coalesce(Subquery(written, output_field=ids), Value(0), output_field=ids),
        output_field=ids,
    )


def is_protected(case) -> bool:
    """The case's citizen has a protected identity (skyddad identitet): their threads are read only
    by named staff — the case team, and whoever routing delivered a message to personally."""
    return case is not None and case.citizen.protected_identity


# A (mailbox, thread) row's citizen has a protected identity (NULL for an internal thread): lists
# and search hits show no name for it.
PROTECTED = F("thread__citizen__citizen__protected_identity")


def not_protected_in_group(*, user_id: int, mailbox: str = "mailbox__", thread: str = "thread__") -> Q:
    """A condition on a (mailbox, thread) row: not a protected citizen's thread seen through a group
    mailbox, unless the user is on the case team (is_protected, as a filter for lists)."""
    return (
        Q(**{f"{mailbox}kind": Mailbox.Kind.PERSONAL})
        | Q(**{f"{thread}case__isnull": True})
        | Q(**{f"{thread}case__citizen__protected_identity": False})
        | on_case_team(user_id=user_id, thread=thread)
    )


# Beyond every message id: "the whole thread" as a cut-off, without looking up its last message.
WHOLE_THREAD = 2**63 - 1


def search_upto(*, user_id: int) -> DjangoCase:
    """The need-to-know cut-off of a (mailbox, thread) row as search applies it: the whole thread
    (WHOLE_THREAD) in an internal thread or for the case team, else visible_upto_through."""
    return DjangoCase(
        When(
            Q(thread__kind=Thread.Kind.INTERNAL) | on_case_team(user_id=user_id),
            then=Value(WHOLE_THREAD, output_field=BigIntegerField()),
        ),
        default=visible_upto_through(),
        output_field=BigIntegerField(),
    )


def last_message_id(*, thread: str = "thread_id") -> Subquery:
    return Subquery(Message.objects.filter(thread_id=OuterRef(thread)).order_by("-id").values("id")[:1])


def _cut_off(row, *, is_citizen: bool) -> tuple[int | None, bool]:
    """(visible_upto, hidden_later) from a row annotated with `on_team`, `visible_upto`, `last_id`."""
    if not is_citizen or row.on_team:
        return None, False
    return row.visible_upto, (row.last_id or 0) > row.visible_upto


def _case_of(thread: Thread):
    """The thread's case (eservices.Case, loaded along by access_thread), or None: an internal thread
    has none."""
    try:
        return thread.case
    except ObjectDoesNotExist:
        return None


def _thread_summary(*, mailbox_id: int, thread_id: int, **may_open_args) -> QuerySet[MailboxThread]:
    return (
        MailboxThread.objects.select_related(
            "mailbox",
            "thread",
            "thread__case",
            "thread__case__citizen",
            "thread__case__eservice",
            "thread__case__handler",
            "taken_by",
            "handled_by",
        )
        .alias(mailbox_pk_text=Cast("mailbox_id", CharField()))
        .filter(may_open(**may_open_args, mailbox="mailbox__", pk_text="mailbox_pk_text"))
        .filter(mailbox_id=mailbox_id, thread_id=thread_id)
        .annotate(
            on_team=on_case_team(user_id=may_open_args["user_id"]),
            visible_upto=visible_upto_through(),
            last_id=last_message_id(),
        )[:1]
    )


_THREAD_SUMMARY = CompiledQuery(_thread_summary)


def access_thread(*, user, mailbox_id: int, thread_id: int) -> ThreadAccess:
    """A thread opened through a mailbox the user may access and that holds it (its summary row).

    The access rule is applied to the mailbox row already joined, not as a second scan of
    mailboxes: PostgreSQL plans this query on every thread page, and its planning time grows
    quickly with each relation (the case's unit is not joined for that reason: only its id is
    used). Compiled once (lifemsg.perf.compiled): building it cost four times as long as running it."""
    shape, values = may_open_args(user)
    summary = _THREAD_SUMMARY.first(shape, mailbox_id=int(mailbox_id), thread_id=int(thread_id), **values)
    if summary is None:
        raise Http404
    mailbox = summary.mailbox
    route = AccessLogEntry.Route.GROUP_MAILBOX if mailbox.is_group else AccessLogEntry.Route.OWN_MAILBOX
    case = _case_of(summary.thread)
    if mailbox.is_group and is_protected(case) and not summary.on_team:
        raise Http404  # protected identity: named staff only, never a group mailbox's members
    visible_upto, hidden_later = _cut_off(summary, is_citizen=summary.thread.is_citizen)
    return ThreadAccess(
        thread=summary.thread,
        route=route,
        mailbox=mailbox,
        summary=summary,
        case=case,
        visible_upto=visible_upto,
        hidden_later=hidden_later,
    )


def access_attachment(*, user, attachment_id: int, mailbox_id: int) -> tuple[Attachment, ThreadAccess]:
    """An attachment of a message in a thread the user may open through that mailbox, and may read
    there (need to know). Through a case: eservices.permissions.access_case_attachment."""
    attachment = attachment_sent(attachment_id)
    access = access_thread(user=user, mailbox_id=mailbox_id, thread_id=attachment.message.thread_id)
    if not access.shows(attachment.message_id):
        raise Http404
    return attachment, access


def attachment_sent(attachment_id: int) -> Attachment:
    """An attachment of a stored message (with it), or 404; the caller then authorises its thread."""
    attachment = (
        Attachment.objects.select_related("message").filter(pk=attachment_id, message__isnull=False).first()
    )
    if attachment is None:
        raise Http404
    return attachment
