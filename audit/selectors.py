"""Reads of the access log and audit events for log review, and the citizen's log extract.

Every list is filtered in SQL and annotated with what the page shows (case number, unit name), so a
template adds no queries; the indexes used are on AccessLogEntry (citizen+at, user+at, unit_id+at,
case_id, at, action).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Lower, Replace
from django.utils import timezone

from eservices.models import Case, Citizen
from mailboxes.models import Unit, UnitMembership

from .models import AccessLogEntry, AuditEvent, LogReview

Action = AccessLogEntry.Action
Route = AccessLogEntry.Route

# What counts as a staff read of citizen data (the reviewer's own searches do not).
READ_ACTIONS = (
    Action.READ_THREAD,
    Action.READ_MESSAGE,
    Action.DOWNLOAD_ATTACHMENT,
    Action.EXPORT,
    Action.PRINT,
    Action.FORWARD,
)


def day_bounds(
    date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Whole local days, both ends inclusive."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz) if date_from else None
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if date_to else None
    return start, end


def _annotated(qs: QuerySet[AccessLogEntry]) -> QuerySet[AccessLogEntry]:
    return qs.select_related("user", "citizen", "citizen__citizen").annotate(
        case_reference=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("reference")[:1]),
        unit_name=Subquery(Unit.objects.filter(pk=OuterRef("unit_id")).values("name")[:1]),
    )


@dataclass(frozen=True)
class LogFilters:
    citizen_user_id: int | None = None
    staff: str = ""
    unit: Unit | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str = ""
    route: str = ""

    def describe(self) -> dict[str, Any]:
        """What was searched, for the reviewer's own log entry and review records. A citizen is named
        by user id, never by personal identity number."""
        out: dict[str, Any] = {}
        if self.citizen_user_id:
            out["citizen"] = self.citizen_user_id
        if self.staff:
            out["staff"] = self.staff
        if self.unit is not None:
            out["unit"] = self.unit.pk
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.action:
            out["action"] = self.action
        if self.route:
            out["route"] = self.route
        return out


def _staff_user_ids(text: str) -> QuerySet:
    """Staff matching a username exactly, or whose first name, last name or username contains every
    word typed."""
    User = get_user_model()
    by_words = Q()
    for word in text.split():
        by_words &= Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(username__icontains=word)
    return (
        User.objects.filter(kind=User.Kind.STAFF)
        .filter(Q(username__iexact=text.strip()) | by_words)
        .values("pk")
    )


def _unit_q(unit: Unit) -> Q:
    """Entries about the unit's data, or by someone who was a member of the unit at the time (the
    snapshot holds the member's units as a sorted ", "-joined list)."""
    name = unit.name
    return (
        Q(unit_id=unit.pk)
        | Q(user_units=name)
        | Q(user_units__startswith=f"{name}, ")
        | Q(user_units__endswith=f", {name}")
        | Q(user_units__contains=f", {name}, ")
    )


def access_log_search(*, filters: LogFilters) -> QuerySet[AccessLogEntry]:
    qs = AccessLogEntry.objects.all()
    if filters.citizen_user_id:
        qs = qs.filter(citizen_id=filters.citizen_user_id)
    if filters.staff:
        qs = qs.filter(user__in=_staff_user_ids(filters.staff))
    if filters.unit is not None:
        qs = qs.filter(_unit_q(filters.unit))
    start, end = day_bounds(filters.date_from, filters.date_to)
    if start:
        qs = qs.filter(at__gte=start)
    if end:
        qs = qs.filter(at__lt=end)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.route:
        qs = qs.filter(route=filters.route)
    return _annotated(qs).order_by("-seq")


# --- targeted checks -----------------------------------------------------------------------------


def _staff_reads(start: dt.datetime, end: dt.datetime) -> QuerySet[AccessLogEntry]:
    return AccessLogEntry.objects.filter(
        at__gte=start, at__lt=end, action__in=READ_ACTIONS, citizen__isnull=False
    ).exclude(route=Route.LOG_REVIEW)


def reads_outside_case_team(*, start: dt.datetime, end: dt.datetime) -> QuerySet[AccessLogEntry]:
    """Reads of a case's messages by staff who are (today) neither its handler, a co-handler nor a
    member of the case's unit."""
    is_handler = Exists(Case.objects.filter(pk=OuterRef("case_id"), handler_id=OuterRef("user_id")))
    is_co_handler = Exists(
        Case.co_handlers.through.objects.filter(case_id=OuterRef("case_id"), user_id=OuterRef("user_id"))
    )
    in_case_unit = Exists(
        UnitMembership.objects.filter(user_id=OuterRef("user_id"), unit__cases__id=OuterRef("case_id"))
    )
    qs = (
        _staff_reads(start, end)
        .filter(case_id__isnull=False)
        .exclude(is_handler)
        .exclude(is_co_handler)
        .exclude(in_case_unit)
    )
    return _annotated(qs).order_by("-seq")


def reads_of_protected_identities(*, start: dt.datetime, end: dt.datetime) -> QuerySet[AccessLogEntry]:
    qs = _staff_reads(start, end).filter(citizen__citizen__protected_identity=True)
    return _annotated(qs).order_by("-seq")


def _address_key(field: str):
    """An address compared without case, spaces or commas ("Storgatan 1, 123 45" = "storgatan 1 12345")."""
    return Lower(Replace(Replace(F(field), Value(" "), Value("")), Value(","), Value("")))


def reads_of_kin(*, start: dt.datetime, end: dt.datetime) -> QuerySet[AccessLogEntry]:
    """Reads of citizens who share the reader's surname or registered address (a relative, a
    neighbour, oneself): each worth a look, most will have a reason. Names and addresses are compared
    as they are today, without case; empty ones never match."""
    qs = (
        _staff_reads(start, end)
        .annotate(
            reader_address=_address_key("user__address"),
            citizen_address=_address_key("citizen__citizen__address"),
        )
        .filter(
            (Q(user__last_name__iexact=F("citizen__citizen__last_name")) & ~Q(user__last_name=""))
            | (Q(reader_address=F("citizen_address")) & ~Q(user__address=""))
        )
    )
    return _annotated(qs).order_by("-seq")


def reads_by_staff_who_are_clients(*, start: dt.datetime, end: dt.datetime) -> QuerySet[AccessLogEntry]:
    """Every read by staff who are themselves registered as citizens with a case here (matched on the
    personal identity number in their staff record): their reads deserve a look whoever they read."""
    is_client = Exists(
        Citizen.objects.filter(personnummer=OuterRef("user__personnummer"), cases__isnull=False)
    )
    qs = _staff_reads(start, end).exclude(user__personnummer="").filter(is_client)
    return _annotated(qs).order_by("-seq")


@dataclass
class BulkReadBurst:
    user: Any
    first_at: dt.datetime
    last_at: dt.datetime
    citizen_count: int
    read_count: int
    citizens: set[int] = field(default_factory=set)


def bulk_reads(*, start: dt.datetime, end: dt.datetime, threshold: int) -> list[BulkReadBurst]:
    """Staff who read the data of more than `threshold` different citizens within any 60 minutes.

    One pass per user over (at, citizen) in time order with a sliding one-hour window: a burst is
    reported once, from its first read until the window empties below the threshold again."""
    window = dt.timedelta(hours=1)
    rows = _staff_reads(start, end).order_by("user_id", "at").values_list("user_id", "at", "citizen_id")
    bursts: list[BulkReadBurst] = []
    current_user = None
    reads: deque[tuple[dt.datetime, int]] = deque()
    counts: dict[int, int] = {}
    burst: BulkReadBurst | None = None
    for user_id, at, citizen_id in rows.iterator(chunk_size=5000):
        if user_id != current_user:
            current_user, burst = user_id, None
            reads.clear()
            counts.clear()
        reads.append((at, citizen_id))
        counts[citizen_id] = counts.get(citizen_id, 0) + 1
        while reads and reads[0][0] <= at - window:
            _old_at, old_citizen = reads.popleft()
            counts[old_citizen] -= 1
            if not counts[old_citizen]:
                del counts[old_citizen]
        if len(counts) > threshold:
            if burst is None:
                burst = BulkReadBurst(
                    user=user_id, first_at=reads[0][0], last_at=at, citizen_count=0, read_count=0
                )
                burst.citizens.update(c for _a, c in reads)
                burst.read_count = len(reads) - 1
                bursts.append(burst)
            burst.citizens.add(citizen_id)
            burst.last_at = at
            burst.read_count += 1
            burst.citizen_count = len(burst.citizens)
        else:
            burst = None
    users = get_user_model().objects.in_bulk({b.user for b in bursts})
    for b in bursts:
        b.user = users[b.user]
    bursts.sort(key=lambda b: (-b.citizen_count, b.first_at))
    return bursts


# --- reviews, events, citizen extract ------------------------------------------------------------


def log_reviews() -> QuerySet[LogReview]:
    return LogReview.objects.select_related("reviewer").order_by("-created_at", "-id")


def sample_entries(*, review: LogReview) -> QuerySet[AccessLogEntry]:
    return _annotated(AccessLogEntry.objects.filter(seq__in=review.sample_seqs)).order_by("seq")


def audit_events(
    *, action_prefixes: tuple[str, ...] = (), actor_text: str = "", start=None, end=None
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor")
    if action_prefixes:
        match = Q()
        for prefix in action_prefixes:
            match |= Q(action__startswith=prefix)
        qs = qs.filter(match)
    if actor_text:
        qs = qs.filter(actor__in=_staff_user_ids(actor_text))
    if start:
        qs = qs.filter(at__gte=start)
    if end:
        qs = qs.filter(at__lt=end)
    return qs.order_by("-at", "-id")


def citizen_log_extract(*, citizen_user) -> QuerySet[AccessLogEntry]:
    """Every access to this citizen's messages, for the citizen's own extract: only the columns the
    extract shows are loaded (never who the staff member was)."""
    return (
        AccessLogEntry.objects.filter(citizen_id=citizen_user.pk)
        .annotate(unit_name=Subquery(Unit.objects.filter(pk=OuterRef("unit_id")).values("name")[:1]))
        .only("seq", "at", "action", "route", "unit_id", "user_units")
        .order_by("-seq")
    )
