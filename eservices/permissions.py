"""Who may do what with cases, checked in one place. `access_*` helpers fetch and authorise in one step
and raise Http404 alike for "missing" and "not yours", so ids reveal nothing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from audit.models import AccessLogEntry
from lifemsg.perf.compiled import CompiledQuery
from mailboxes.models import Attachment, Message, Unit
from mailboxes.permissions import ThreadAccess, attachment_sent

from .models import Case

SEND_PERM = "eservices.send_to_citizen"
ASSIGN_PERM = "accounts.assign_cases"
ASSIGN_ANY_PERM = "eservices.assign_any_case"
PROTECT_PERM = "eservices.set_protected_identity"

# What a citizen ever sees of their thread: never internal notes.
CITIZEN_VISIBLE_KINDS = (Message.Kind.NORMAL, Message.Kind.AUTOMATIC)


def can_send_to_citizen(*, user, case: Case) -> bool:
    """Only the case's handler and co-handlers (granted through django-guardian by case_assign)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and not user.is_citizen
        and user.has_perm(SEND_PERM, case)
    )


def _citizen_case(*, case_id: int, user_id: int, for_page: bool) -> QuerySet[Case]:
    related = ("eservice", "unit", "thread", "handler", "citizen") if for_page else ("thread", "citizen")
    return Case.objects.select_related(*related).filter(pk=case_id, citizen__user_id=user_id)


# Compiled once (lifemsg.perf.compiled): every case page and every citizen's send opens the case.
_CITIZEN_CASE = CompiledQuery(_citizen_case)


def citizen_case_or_none(*, user, case_id: int, for_page: bool = True) -> Case | None:
    """A citizen's own case, or None for a missing one, someone else's, or a user who is no citizen.
    `for_page` loads what the case page shows along with it; without it only what sending needs (a
    send that succeeds redirects and shows nothing)."""
    if not user.is_authenticated or not user.is_citizen:
        return None
    return _CITIZEN_CASE.first({"for_page": for_page}, case_id=int(case_id), user_id=user.pk)


def access_citizen_case(*, user, case_id: int, for_page: bool = True) -> Case:
    """A citizen's own case, or 404 alike for missing and someone else's (citizen_case_or_none)."""
    case = citizen_case_or_none(user=user, case_id=case_id, for_page=for_page)
    if case is None:
        raise Http404
    return case


def _citizen_open_case_thread(*, case_id: int, user_id: int) -> QuerySet[Case]:
    # The citizen's own case, as access_citizen_case finds it, and open: what a send needs.
    return (
        _citizen_case(case_id=case_id, user_id=user_id, for_page=False)
        .filter(status=Case.Status.OPEN)
        .values("thread_id")
    )


# The thread of the citizen's own open case, for a send to store its message in the same statement
# as this check (mailboxes.services.messages.message_store_if): values case_id and user_id.
CITIZEN_OPEN_CASE_THREAD = CompiledQuery(_citizen_open_case_thread)


def access_citizen_attachment(*, user, attachment_id: int) -> Attachment:
    """An attachment of a message the citizen can see in one of their own cases; 404 otherwise
    (someone else's, an internal note's, not yet attached, or missing)."""
    if not user.is_authenticated or not user.is_citizen:
        raise Http404
    attachment = (
        Attachment.objects.filter(
            pk=attachment_id,
            message__kind__in=CITIZEN_VISIBLE_KINDS,
            message__thread__case__citizen__user=user,
        )
        .only("id", "file", "filename", "content_type", "size")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


# --- staff: threads opened through a case they handle --------------------------------------------


def on_case_team(*, user_id: int, thread: str = "thread__") -> Q:
    """The user is the handler or a co-handler of the case of the thread reached by the lookup
    prefix `thread` ("" for a case itself is `cases_handled_by`). Given to the mailbox core
    (mailboxes.hooks.case_team_condition) for its need-to-know rule."""
    case = f"{thread}case__"
    co = Case.co_handlers.through.objects.filter(case_id=OuterRef(f"{case}id"), user_id=user_id)
    return Q(**{f"{case}handler_id": user_id}) | Q(Exists(co))


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


def access_case_attachment(*, user, attachment_id: int, case_id: int) -> tuple[Attachment, ThreadAccess]:
    """An attachment of a message in the thread of a case the user handles or co-handles."""
    attachment = attachment_sent(attachment_id)
    access = access_case_thread(user=user, case_id=case_id)
    if access.thread.pk != attachment.message.thread_id:
        raise Http404
    return attachment, access


# --- staff: case assignment -------------------------------------------------------------------


def can_assign_in_every_unit(user) -> bool:
    return user.has_perm(ASSIGN_ANY_PERM)


def assignment_units(user) -> QuerySet[Unit]:
    """The units whose cases `user` may assign: every unit with eservices.assign_any_case, else the
    units they are a member of (a unit manager). Callers check ASSIGN_PERM first."""
    if can_assign_in_every_unit(user):
        return Unit.objects.all()
    return Unit.objects.filter(memberships__user=user)


def require_assign_permission(user) -> None:
    """403 for a role without case assignment (handläggare, superanvändare, loggranskare)."""
    if not user.is_authenticated or user.is_citizen or not user.has_perm(ASSIGN_PERM):
        raise PermissionDenied


def access_case_for_assignment(*, user, case_id: int) -> Case:
    """A case the user may assign (403 without the role permission; 404 for a case outside their
    units, alike with a missing one)."""
    require_assign_permission(user)
    cases = Case.objects.select_related("eservice", "unit", "citizen", "handler").filter(pk=case_id)
    if not can_assign_in_every_unit(user):
        cases = cases.filter(unit__memberships__user=user)
    case = cases.first()
    if case is None:
        raise Http404
    return case


# --- staff: protected identity ------------------------------------------------------------------


def access_case_for_protection(*, user, case_id: int) -> Case:
    """A case whose citizen's protected identity `user` may set or clear: 403 without
    eservices.set_protected_identity (a handläggare, a unit manager), 404 for a missing case."""
    if not user.is_authenticated or user.is_citizen or not user.has_perm(PROTECT_PERM):
        raise PermissionDenied
    case = Case.objects.select_related("citizen", "eservice", "unit", "thread").filter(pk=case_id).first()
    if case is None:
        raise Http404
    return case
