"""The unit overview's pictures: a group mailbox's last 30 days (unread, oldest unread, handled per
day) and who is away this week. Figures only — no message content and no citizen is named here.

Days are local days (settings.TIME_ZONE). What a day's value means, from the timestamps a delivery
keeps (created_at, read_at, handled_at — read_at is the latest reading; a delivery marked unread
again has it cleared, so it counts as unread since it arrived):

- the day's *moment* is the end of the day (local midnight after it), or now for today;
- *unread on day D*: deliveries created before D's moment and not read before it
  (``created_at < moment and (read_at is null or read_at >= moment)``);
- *oldest unread on day D*: the age at D's moment of the earliest-created of those, in days;
- *handled on day D*: deliveries whose handled_at falls on D (from local midnight to the moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from mailboxes.models import Delivery

from .models import Absence
from .timeutil import local_dt

DAYS = 30
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class DayPoint:
    day: date
    unread: int
    oldest_unread_days: float | None  # None: nothing unread at the day's moment
    handled: int


def _moments(first: date, days: int, now: datetime) -> list[tuple[date, datetime, datetime]]:
    return [
        (
            first + timedelta(days=i),
            local_dt(first + timedelta(days=i)),
            min(local_dt(first + timedelta(days=i + 1)), now),
        )
        for i in range(days)
    ]


def _age_days(moment: datetime, oldest: datetime | None) -> float | None:
    if oldest is None:
        return None
    return round((moment - oldest).total_seconds() / SECONDS_PER_DAY, 1)


# generate_series over local dates; `AT TIME ZONE` turns each local midnight into an instant, so a
# daylight-saving day is 23 or 25 hours long. The join keeps only the rows a day can count, and the
# unread index does not help here: read deliveries count on the days before they were read.
_SERIES_SQL = """
WITH days AS (
    SELECT d::date AS day,
           d AT TIME ZONE %(tz)s AS day_start,
           LEAST((d + interval '1 day') AT TIME ZONE %(tz)s, %(now)s::timestamptz) AS moment
    FROM generate_series(%(first)s::timestamp, %(last)s::timestamp, interval '1 day') AS d
)
SELECT m.id, days.day,
       COUNT(dl.id) FILTER (WHERE dl.read_at IS NULL OR dl.read_at >= days.moment),
       MIN(dl.created_at) FILTER (WHERE dl.read_at IS NULL OR dl.read_at >= days.moment),
       COUNT(dl.id) FILTER (WHERE dl.handled_at >= days.day_start AND dl.handled_at < days.moment),
       MIN(days.moment)
FROM days
CROSS JOIN unnest(%(ids)s::bigint[]) AS m(id)
LEFT JOIN {table} dl ON dl.mailbox_id = m.id AND dl.created_at < days.moment AND (
    dl.read_at IS NULL OR dl.read_at >= days.moment
    OR (dl.handled_at >= days.day_start AND dl.handled_at < days.moment))
GROUP BY m.id, days.day
ORDER BY m.id, days.day
"""


def _series_sql(mailbox_ids: list[int], first: date, now: datetime, days: int) -> dict[int, list[DayPoint]]:
    params = {
        "tz": settings.TIME_ZONE,
        "now": now,
        "first": first,
        "last": first + timedelta(days=days - 1),
        "ids": mailbox_ids,
    }
    series: dict[int, list[DayPoint]] = {pk: [] for pk in mailbox_ids}
    with connection.cursor() as cursor:
        cursor.execute(_SERIES_SQL.format(table=Delivery._meta.db_table), params)
        for mailbox_id, day, unread, oldest, handled, moment in cursor.fetchall():
            series[mailbox_id].append(DayPoint(day, unread, _age_days(moment, oldest), handled))
    return series


def _series_python(
    mailbox_ids: list[int], first: date, now: datetime, days: int
) -> dict[int, list[DayPoint]]:
    """The same figures bucketed in Python from one query (SQLite, which has no generate_series)."""
    moments = _moments(first, days, now)
    start = moments[0][1]
    rows = list(
        Delivery.objects.filter(mailbox_id__in=mailbox_ids, created_at__lt=now)
        .filter(Q(read_at__isnull=True) | Q(read_at__gte=start) | Q(handled_at__gte=start))
        .values_list("mailbox_id", "created_at", "read_at", "handled_at")
    )
    series: dict[int, list[DayPoint]] = {}
    for pk in mailbox_ids:
        mine = [r for r in rows if r[0] == pk]
        points = []
        for day, day_start, moment in moments:
            unread = [c for _, c, r, _h in mine if c < moment and (r is None or r >= moment)]
            handled = sum(
                1 for _, c, _r, h in mine if c < moment and h is not None and day_start <= h < moment
            )
            points.append(DayPoint(day, len(unread), _age_days(moment, min(unread, default=None)), handled))
        series[pk] = points
    return series


def mailbox_series(*, mailbox_ids: list[int], when: datetime | None = None, days: int = DAYS):
    """{mailbox id: [DayPoint for each of the last `days` local days, oldest first]}, in one query."""
    now = when or timezone.now()
    mailbox_ids = list(mailbox_ids)
    if not mailbox_ids:
        return {}
    first = timezone.localtime(now).date() - timedelta(days=days - 1)
    if connection.vendor == "postgresql":
        return _series_sql(mailbox_ids, first, now, days)
    return _series_python(mailbox_ids, first, now, days)


# --- who is away this week -------------------------------------------------------------------------


@dataclass
class AwayRow:
    name: str
    days: list[str]  # per weekday: "" (here), "part" or "all"


@dataclass
class WeekTimeline:
    days: list[date]
    today: date
    rows: list[AwayRow] = field(default_factory=list)


def _day_state(absence: Absence, start: datetime, end: datetime) -> str:
    until = absence.effective_end
    if until is not None and until <= absence.starts_at:  # cancelled before it began
        return ""
    if absence.starts_at >= end or (until is not None and until <= start):
        return ""
    if absence.starts_at <= start and (until is None or until >= end):
        return "all"
    return "part"


def away_this_week(*, unit_ids: list[int], when: datetime | None = None) -> dict[int, WeekTimeline]:
    """{unit id: who of its members is away some time Monday–Sunday of this (local) week}. One query.
    Only names and days: the absence's reason and texts stay off this picture."""
    now = when or timezone.now()
    today = timezone.localtime(now).date()
    monday = today - timedelta(days=today.weekday())
    week = [monday + timedelta(days=i) for i in range(7)]
    bounds = [(local_dt(d), local_dt(d + timedelta(days=1))) for d in week]
    found = {pk: WeekTimeline(days=week, today=today) for pk in unit_ids}
    rows: dict[tuple[int, int], AwayRow] = {}
    absences = (
        Absence.objects.active_between(bounds[0][0], bounds[-1][1] - timedelta(microseconds=1))
        .filter(handler__unit_memberships__unit_id__in=unit_ids)
        .annotate(member_of=F("handler__unit_memberships__unit_id"))
        .select_related("handler")
        .order_by("handler__first_name", "handler__last_name", "handler_id", "starts_at")
    )
    for absence in absences:
        key = (absence.member_of, absence.handler_id)
        if key not in rows:
            rows[key] = AwayRow(name=absence.handler.display_name, days=[""] * 7)
            found[absence.member_of].rows.append(rows[key])
        row = rows[key]
        for i, (start, end) in enumerate(bounds):
            state = _day_state(absence, start, end)
            if state == "all" or (state == "part" and not row.days[i]):
                row.days[i] = state
    return found
