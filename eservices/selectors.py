"""Reads for the citizen portal and the staff case-assignment pages, scoped and prefetched so that a
template adds no queries."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts import personnummer as pnr
from audit.models import AuditEvent
from lifemsg.perf.compiled import CompiledQuery
from mailboxes.models import Attachment, Mailbox, Message, Thread, Unit, UnitMembership
from mailboxes.services.units import mailbox_personal_for

from .models import Case, Citizen, ConversationTopic, EService
from .permissions import CITIZEN_VISIBLE_KINDS, can_assign_in_every_unit, cases_handled_by

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
User = get_user_model()


# --- the staff thread list ------------------------------------------------------------------------


def mailbox_eservice_choices(*, mailbox: Mailbox, selected_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the e-services a mailbox's list may be filtered by: those of its unit (a group
    mailbox) or of its owner's units (a personal one), routed there or with cases there, and the one
    already selected (a bookmarked filter keeps its choice). One query: five index probes of
    (unit, eservice) for an installation's e-services, whatever the number of cases."""
    if mailbox.is_group:
        units = [mailbox.unit_id]
    else:
        units = UnitMembership.objects.filter(user_id=mailbox.owner_id).values("unit_id")
    condition = Q(unit_id__in=units) | Exists(
        Case.objects.filter(eservice_id=OuterRef("pk"), unit_id__in=units)
    )
    if selected_id is not None:
        condition |= Q(pk=selected_id)
    return list(EService.objects.filter(condition).order_by("name", "id").values_list("id", "name"))


# --- routing ---------------------------------------------------------------------------------------


def citizen_thread_recipients(thread_ids: set[int]) -> dict[int, Mailbox]:
    """Who a citizen's message in each thread is for: the case's handler (their personal mailbox), or
    the case unit's group mailbox when no one handles it. One query for the whole batch (routing asks
    through mailboxes.hooks.citizen_recipients)."""
    found = {}
    for case in (
        Case.objects.filter(thread_id__in=thread_ids)
        .select_related("handler__personal_mailbox", "unit__group_mailbox")
        .order_by()
    ):
        if case.handler_id is not None:
            found[case.thread_id] = mailbox_personal_for(case.handler)
        else:
            found[case.thread_id] = case.unit.group_mailbox
    return found


def thread_contexts(thread_ids) -> dict[int, dict[str, int | None]]:
    """Citizen, case and the case's unit of each thread, in one query (for the access log)."""
    rows = Thread.objects.filter(pk__in=thread_ids).values("pk", "citizen_id", "case__id", "case__unit_id")
    return {
        row["pk"]: {
            "citizen_id": row["citizen_id"],
            "case_id": row["case__id"],
            "unit_id": row["case__unit_id"],
        }
        for row in rows
    }


# --- staff: a case's team, one's cases -----------------------------------------------------------


def _case_team(*, case_id: int, handler_reads: bool, unit_id: int | None = None) -> QuerySet:
    through = Case.co_handlers.through
    co_handler = through.objects.filter(case_id=case_id, user_id=OuterRef("pk"))
    if handler_reads:  # the handler may send: no one to point them to
        rows = User.objects.filter(Exists(co_handler)).annotate(is_co=Value(True), is_manager=Value(False))
    else:
        managers = UnitMembership.objects.filter(
            unit_id=unit_id,
            user__is_active=True,
            user__groups__permissions__codename="assign_cases",
            user__groups__permissions__content_type__app_label="accounts",
        )
        # Candidates from the two small sets (the case's through rows, the unit's members), never a
        # scan of all users.
        candidates = (
            through.objects.filter(case_id=case_id).values("user_id").union(managers.values("user_id"))
        )
        rows = User.objects.filter(pk__in=candidates).annotate(
            is_co=Exists(co_handler), is_manager=Exists(managers.filter(user_id=OuterRef("pk")))
        )
    return rows.order_by("last_name", "first_name", "pk")


_CASE_TEAM = CompiledQuery(_case_team)


def case_team(case, *, reader) -> tuple[list, list]:
    """The case's co-handlers, and, unless `reader` handles the case, who can make someone
    co-handler in its unit (its active members whose role may assign cases), each by name: one
    query, so that a citizen thread opened through a group mailbox stays within the page's budget;
    compiled once (lifemsg.perf.compiled)."""
    if case.handler_id == reader.pk:
        team = _CASE_TEAM.fetch({"handler_reads": True}, case_id=case.pk)
    else:
        team = _CASE_TEAM.fetch({"handler_reads": False}, case_id=case.pk, unit_id=case.unit_id)
    return [u for u in team if u.is_co], [u for u in team if u.is_manager]


def my_cases(user, limit: int = 50):
    """Cases the user handles or co-handles, for the index page (a co-handler gets no deliveries of
    the citizen's messages, so this is their way in)."""
    return (
        cases_handled_by(user)
        .select_related("citizen", "eservice", "handler")
        .order_by("-created_at")[:limit]
    )


def protected_cases_of_messages(message_ids) -> dict[int, Case]:
    """{message id: case} for the messages in a thread of a case whose citizen has a protected
    identity, co-handlers prefetched (routing asks through mailboxes.hooks.protected_cases)."""
    cases = (
        Case.objects.filter(citizen__protected_identity=True, thread__messages__id__in=list(message_ids))
        .annotate(message_id=F("thread__messages__id"))
        .prefetch_related("co_handlers")
    )
    return {case.message_id: case for case in cases}


# --- citizen portal ----------------------------------------------------------------------------


def _visible_messages():
    return Message.objects.filter(kind__in=CITIZEN_VISIBLE_KINDS)


def citizen_cases(*, citizen: Citizen) -> QuerySet[Case]:
    """The citizen's cases with `unread_count` (messages to them they have not opened yet) and
    `last_message_at`, ordered for grouping by e-service. One query whatever the number of cases."""
    visible = _visible_messages().filter(thread_id=OuterRef("thread_id"))
    unread = (
        visible.exclude(sender_id=citizen.user_id)
        .filter(created_at__gt=Coalesce(OuterRef("citizen_last_read_at"), Value(EPOCH)))
        .order_by()
        .values("thread_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    last = visible.order_by("-created_at", "-id").values("created_at")[:1]
    return (
        Case.objects.filter(citizen=citizen)
        .select_related("eservice", "thread", "handler")
        .annotate(
            unread_count=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            last_message_at=Subquery(last),
        )
        .order_by("eservice__name", "-thread__last_message_at", "-id")
    )


def citizen_unread_total(*, citizen: Citizen) -> int:
    return sum(case.unread_count for case in citizen_cases(citizen=citizen))


def citizen_thread_messages(*, case: Case) -> list[Message]:
    """What the citizen sees of the case's thread: their messages and the municipality's, automatic
    ones marked by kind; internal notes never."""
    return list(
        _visible_messages()
        .filter(thread_id=case.thread_id)
        .select_related("sender")
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.order_by("id").only(
                    "id", "message_id", "filename", "content_type", "size"
                ),
            )
        )
        .order_by("created_at", "id")
    )


def startable_eservices() -> list[EService]:
    """E-services through which a citizen may start a conversation, with their topics."""
    return list(
        EService.objects.filter(citizen_can_start=True)
        .prefetch_related(
            Prefetch(
                "topics", queryset=ConversationTopic.objects.select_related("unit").order_by("position", "id")
            )
        )
        .order_by("name")
    )


# --- staff: case assignment -------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    unit_id: int | None = None
    eservice_id: int | None = None
    without_handler: bool = False
    query: str = ""


def staff_cases(*, user, filters: CaseFilters) -> QuerySet[Case]:
    """Cases the user may assign (every unit with eservices.assign_any_case, else their own units),
    filtered in SQL; handler, co-handlers, citizen and e-service prefetched."""
    cases = Case.objects.all()
    if not can_assign_in_every_unit(user):
        cases = cases.filter(unit__in=Unit.objects.filter(memberships__user=user))
    if filters.unit_id:
        cases = cases.filter(unit_id=filters.unit_id)
    if filters.eservice_id:
        cases = cases.filter(eservice_id=filters.eservice_id)
    if filters.without_handler:
        cases = cases.filter(handler__isnull=True)
    query = filters.query.strip()
    if query:
        condition = Q(reference__icontains=query) | Q(thread__subject__icontains=query)
        # Names of citizens with protected identity are never searchable or shown.
        condition |= Q(citizen__protected_identity=False) & (
            Q(citizen__last_name__icontains=query) | Q(citizen__first_name__icontains=query)
        )
        # Not a personal identity number: search the other fields only.
        with suppress(ValidationError):
            condition |= Q(citizen__personnummer=pnr.normalise(query))
        cases = cases.filter(condition)
    User = get_user_model()
    return (
        cases.select_related("eservice", "unit", "citizen", "handler", "thread")
        .prefetch_related(
            Prefetch("co_handlers", queryset=User.objects.order_by("last_name", "first_name", "id"))
        )
        .order_by("-created_at", "-id")
    )


def unit_members(*, unit: Unit) -> QuerySet:
    """Active staff members of the unit: who may be picked as handler or co-handler."""
    User = get_user_model()
    return (
        User.objects.filter(unit_memberships__unit=unit, kind=User.Kind.STAFF, is_active=True)
        .order_by("last_name", "first_name", "id")
        .distinct()
    )


@dataclass(frozen=True)
class AssignmentChange:
    at: datetime
    actor_name: str
    action: str
    handler_before: str | None
    handler_after: str | None
    co_before: list[str]
    co_after: list[str]
    reason: str


def case_assignment_history(*, case: Case) -> list[AssignmentChange]:
    """Creation and every change of handler/co-handlers, newest first, with display names."""
    events = list(
        AuditEvent.objects.filter(
            target_type=Case._meta.label_lower,
            target_id=str(case.pk),
            action__in=["case.create", "case.assign"],
        )
        .select_related("actor")
        .order_by("-at", "-id")
    )
    usernames: set[str] = set()
    for event in events:
        for state in (event.before or {}, event.after or {}):
            if state.get("handler"):
                usernames.add(state["handler"])
            usernames.update(state.get("co_handlers") or [])
    User = get_user_model()
    names = {u.username: u.display_name for u in User.objects.filter(username__in=usernames)}

    def name(username: str | None) -> str | None:
        return names.get(username, username) if username else None

    changes = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        changes.append(
            AssignmentChange(
                at=event.at,
                actor_name=event.actor.display_name if event.actor_id else "",
                action=event.action,
                handler_before=name(before.get("handler")),
                handler_after=name(after.get("handler")),
                co_before=[name(u) for u in before.get("co_handlers") or []],
                co_after=[name(u) for u in after.get("co_handlers") or []],
                reason=event.reason,
            )
        )
    return changes
