"""Reads about absences that other apps show: the mail tip, the citizen's "your handler is away"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Prefetch, Q
from django.utils import timezone

from mailboxes.models import Delivery, Mailbox, Unit, UnitMembership

from .away import AbsencesAt
from .charts import Chart, mailbox_charts
from .models import Absence
from .overview import WeekTimeline, away_this_week, mailbox_series
from .routing import plan_deliveries

User = get_user_model()


@dataclass(frozen=True)
class AwayNotice:
    user_id: int
    name: str
    until: datetime | None  # None: open-ended
    goes_to: list[str]  # names of the mailboxes a message to this person will also reach
    message_to_colleagues: str


def active_absences_for(user_ids, when: datetime | None = None) -> dict[int, Absence]:
    when = when or timezone.now()
    found: dict[int, Absence] = {}
    for absence in (
        Absence.objects.active_at(when)
        .filter(handler_id__in=list(user_ids))
        .select_related("handler", "forward_to")
        .order_by("starts_at", "id")
    ):
        found.setdefault(absence.handler_id, absence)
    return found


def away_notices_for_mailboxes(mailboxes, when: datetime | None = None) -> list[AwayNotice]:
    """Mail tip: for each personal mailbox whose owner is away, until when and where a message goes."""
    when = when or timezone.now()
    personal = [m for m in mailboxes if m.kind == Mailbox.Kind.PERSONAL]
    absences = active_absences_for([m.owner_id for m in personal], when)
    notices = []
    away = AbsencesAt(when)  # one reading of who is away for every chain followed below
    for mailbox in personal:
        absence = absences.get(mailbox.owner_id)
        if absence is None:
            continue
        plans = plan_deliveries(intended=mailbox, absences=away)
        names = dict(
            Mailbox.objects.filter(pk__in=[p.mailbox_id for p in plans[1:]]).values_list("pk", "name")
        )
        notices.append(
            AwayNotice(
                user_id=mailbox.owner_id,
                name=absence.handler.display_name,
                until=absence.ends_at,
                goes_to=[names[p.mailbox_id] for p in plans[1:] if p.mailbox_id in names],
                message_to_colleagues=absence.message_to_colleagues,
            )
        )
    return notices


def handler_is_away(user_id: int | None, when: datetime | None = None) -> bool:
    if user_id is None:
        return False
    return user_id in active_absences_for([user_id], when)


# --- forward targets -------------------------------------------------------------------------------


def forward_target_choices(handler) -> list[Mailbox]:
    """Where `handler`'s mail may go while they are away: the group mailbox of each of their units,
    then — only in units that allow it (Unit.allows_deputy_forwarding) — a colleague's personal
    mailbox (a named deputy)."""
    groups = list(
        Mailbox.objects.filter(kind=Mailbox.Kind.GROUP, unit__memberships__user=handler)
        .select_related("unit")
        .order_by("unit__name")
    )
    deputies = list(
        Mailbox.objects.filter(
            kind=Mailbox.Kind.PERSONAL,
            owner__is_active=True,
            owner__unit_memberships__unit__allows_deputy_forwarding=True,
            owner__unit_memberships__unit__memberships__user=handler,
        )
        .exclude(owner=handler)
        .select_related("owner")
        .distinct()
        .order_by("name", "pk")
    )
    return groups + deputies


def default_forward_target(handler, choices: list[Mailbox] | None = None) -> Mailbox | None:
    """The unit's group mailbox when the handler has exactly one unit; with several they choose."""
    choices = forward_target_choices(handler) if choices is None else choices
    groups = [m for m in choices if m.kind == Mailbox.Kind.GROUP]
    return groups[0] if len(groups) == 1 else None


# --- lists for the pages ---------------------------------------------------------------------------


def _absence_qs():
    return Absence.objects.select_related("handler", "forward_to", "set_by", "ended_by")


def in_force(when: datetime | None = None):
    """Absences active now or planned for later (not ended, end not passed)."""
    when = when or timezone.now()
    return (
        _absence_qs()
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=when))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=when))
    )


@dataclass
class OwnAbsences:
    current: list[Absence]
    upcoming: list[Absence]
    past: list[Absence]


def own_absences(*, user, when: datetime | None = None, past_limit: int = 5) -> OwnAbsences:
    """The user's own absences: under way, planned, and the latest ended (who set and ended them)."""
    when = when or timezone.now()
    rows = list(in_force(when).filter(handler=user).order_by("starts_at", "id"))
    past = list(
        _absence_qs()
        .filter(handler=user)
        .exclude(pk__in=[a.pk for a in rows])
        .filter(starts_at__lte=when)
        .order_by("-starts_at", "-id")[:past_limit]
    )
    return OwnAbsences(
        current=[a for a in rows if a.is_active(when)],
        upcoming=[a for a in rows if not a.is_active(when)],
        past=past,
    )


def staff_search(query: str, limit: int = 20):
    """Staff who can be away (members of a unit), by name or username; every term must match."""
    terms = [t for t in query.split() if t][:5]
    if not terms:
        return User.objects.none()
    qs = User.objects.filter(kind=User.Kind.STAFF, is_active=True, unit_memberships__isnull=False)
    for term in terms:
        qs = qs.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(username__icontains=term)
        )
    return (
        qs.distinct()
        .order_by("first_name", "last_name", "pk")
        .prefetch_related(Prefetch("unit_memberships", queryset=_memberships()))[:limit]
    )


def _memberships():
    return UnitMembership.objects.select_related("unit").order_by("unit__name")


def staff_for_sick_call(user_id: int):
    """A staff member who can be put on sick leave (a unit member), or None."""
    return (
        User.objects.filter(pk=user_id, kind=User.Kind.STAFF, is_active=True, unit_memberships__isnull=False)
        .prefetch_related(Prefetch("unit_memberships", queryset=_memberships()))
        .distinct()
        .first()
    )


@dataclass
class UnitAbsences:
    unit: Unit
    current: list[Absence] = field(default_factory=list)
    upcoming: list[Absence] = field(default_factory=list)


def absences_by_unit(*, units=None, when: datetime | None = None) -> list[UnitAbsences]:
    """Active and planned absences grouped by the handler's units (a person in two units shows in
    both). Two queries whatever the number of rows."""
    when = when or timezone.now()
    units = list(Unit.objects.order_by("name") if units is None else units)
    by_unit = {u.pk: UnitAbsences(unit=u) for u in units}
    memberships = UnitMembership.objects.filter(unit_id__in=list(by_unit)).values_list("user_id", "unit_id")
    units_of: dict[int, list[int]] = {}
    for user_id, unit_id in memberships:
        units_of.setdefault(user_id, []).append(unit_id)
    for absence in in_force(when).filter(handler_id__in=list(units_of)).order_by("starts_at", "id"):
        for unit_id in units_of[absence.handler_id]:
            bucket = by_unit[unit_id]
            (bucket.current if absence.is_active(when) else bucket.upcoming).append(absence)
    return [by_unit[u.pk] for u in units]


@dataclass
class UnitOverview:
    unit: Unit
    mailbox: Mailbox
    current: list[Absence]
    upcoming: list[Absence]
    unread: int
    untaken: int
    oldest_unread_at: datetime | None
    charts: list[Chart] = field(default_factory=list)  # filled by with_pictures
    week: WeekTimeline | None = None


def manager_units(user):
    """The units whose overview `user` may see: their own, with the overview permission."""
    if not user.has_perm("accounts.view_unit_overview"):
        return Unit.objects.none()
    return Unit.objects.filter(memberships__user=user).select_related("group_mailbox").order_by("name")


def unit_overviews(*, user, when: datetime | None = None) -> list[UnitOverview]:
    """For each of the manager's units: who is away and until when, and the group mailbox's unread
    and untaken counts and oldest unread message. A fixed number of queries (counts in SQL)."""
    when = when or timezone.now()
    units = list(manager_units(user))
    if not units:
        return []
    away = {a.unit.pk: a for a in absences_by_unit(units=units, when=when)}
    mailbox_ids = [u.group_mailbox.pk for u in units]
    stats = {
        row["mailbox_id"]: row
        for row in Delivery.objects.filter(mailbox_id__in=mailbox_ids)
        .values("mailbox_id")
        .annotate(
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            untaken=Count("pk", filter=Q(taken_at__isnull=True, handled_at__isnull=True)),
            oldest_unread_at=Min("created_at", filter=Q(read_at__isnull=True)),
        )
        .order_by()
    }
    overviews = []
    for unit in units:
        row = stats.get(unit.group_mailbox.pk, {})
        overviews.append(
            UnitOverview(
                unit=unit,
                mailbox=unit.group_mailbox,
                current=away[unit.pk].current,
                upcoming=away[unit.pk].upcoming,
                unread=row.get("unread", 0),
                untaken=row.get("untaken", 0),
                oldest_unread_at=row.get("oldest_unread_at"),
            )
        )
    return overviews


def with_pictures(overviews: list[UnitOverview], when: datetime | None = None) -> list[UnitOverview]:
    """Adds the 30-day charts and this week's timeline to each overview: two queries for all units."""
    when = when or timezone.now()
    series = mailbox_series(mailbox_ids=[o.mailbox.pk for o in overviews], when=when)
    weeks = away_this_week(unit_ids=[o.unit.pk for o in overviews], when=when)
    for o in overviews:
        o.charts = mailbox_charts(mailbox_id=o.mailbox.pk, points=series[o.mailbox.pk])
        o.week = weeks[o.unit.pk]
    return overviews


def _forwarded_for(absence: Absence):
    qs = Delivery.objects.filter(
        forwarded_for_id=absence.handler_id,
        reason=Delivery.Reason.FORWARDED_ABSENCE,
        created_at__gte=absence.starts_at,
    )
    end = absence.effective_end
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    return qs


def forwarded_count(*, absence: Absence) -> int:
    return _forwarded_for(absence).count()


def forwarded_during(*, absence: Absence, limit: int = 500) -> list[Delivery]:
    """The copies forwarded for the handler during `absence`, with their state there (read, taken,
    handled, by whom) — what the returning handler needs to see. Subjects only, no content."""
    return list(
        _forwarded_for(absence)
        .select_related("mailbox", "thread", "message", "read_by", "taken_by", "handled_by")
        .order_by("-message__created_at", "-id")[:limit]
    )
