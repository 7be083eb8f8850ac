"""Absence times are entered and shown in local time (settings.TIME_ZONE, Europe/Stockholm) and stored
in UTC. A day entered without a time means the whole local day: an absence "1 to 5 December" runs
from local midnight on the 1st to local midnight after the 5th, whatever the daylight-saving offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import formats, timezone


def local_dt(day: date, at: time | None = None) -> datetime:
    """`day` at `at` (default midnight) in local time, as an aware datetime in UTC (so that arithmetic
    on it counts real hours, not wall-clock hours, across daylight-saving changes)."""
    local = timezone.make_aware(datetime.combine(day, at or time(0)), timezone.get_default_timezone())
    return local.astimezone(UTC)


def start_of(day: date, at: time | None = None) -> datetime:
    return local_dt(day, at)


def end_of(day: date, at: time | None = None) -> datetime:
    """The end of an absence whose last day is `day`: at `at` that day, else the following local
    midnight (the whole day is covered)."""
    if at is not None:
        return local_dt(day, at)
    return local_dt(day + timedelta(days=1))


def is_local_midnight(moment: datetime) -> bool:
    local = timezone.localtime(moment)
    return local.hour == 0 and local.minute == 0 and local.second == 0 and local.microsecond == 0


def split_start(moment: datetime) -> tuple[date, time | None]:
    """Inverse of start_of: (day, time or None when it is the start of the day)."""
    local = timezone.localtime(moment)
    return local.date(), None if is_local_midnight(moment) else local.time().replace(second=0, microsecond=0)


def split_end(moment: datetime | None) -> tuple[date | None, time | None]:
    """Inverse of end_of: an end at local midnight is shown as the previous day, whole day."""
    if moment is None:
        return None, None
    local = timezone.localtime(moment)
    if is_local_midnight(moment):
        return local.date() - timedelta(days=1), None
    return local.date(), local.time().replace(second=0, microsecond=0)


def last_day_text(moment: datetime) -> str:
    """'5 december 2026' for an absence ending at local midnight after the 5th, else date and time."""
    local = timezone.localtime(moment)
    if is_local_midnight(moment):
        return formats.date_format(local - timedelta(days=1), "j F Y")
    return formats.date_format(local, "j F Y H:i")
