"""Working days: Monday to Friday except Swedish public holidays (the `holidays` package) and the
three eves that municipal staff have off by collective agreement (midsommarafton, julafton,
nyårsafton), which are not public holidays and which the package files differently by version.

Time "in working days" runs only during working days, whole calendar days in the local time zone: a
message that arrives on a Friday at 10:00 has been waiting one working day on Monday at 10:00; one that
arrives on a Saturday starts its clock on Monday at 00:00.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import holidays
from django.utils import timezone


@cache
def _days_off(year: int) -> frozenset[dt.date]:
    midsummer_eve = next(dt.date(year, 6, d) for d in range(19, 26) if dt.date(year, 6, d).weekday() == 4)
    eves = {midsummer_eve, dt.date(year, 12, 24), dt.date(year, 12, 31)}
    return frozenset(holidays.Sweden(years=year)) | eves


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _days_off(day.year)


def working_day_step(day: dt.date, steps: int) -> dt.date:
    """The working day `steps` working days after `day` (before it, for a negative `steps`)."""
    direction = 1 if steps >= 0 else -1
    for _ in range(abs(steps)):
        day += dt.timedelta(days=direction)
        while not is_working_day(day):
            day += dt.timedelta(days=direction)
    return day


def overdue_arrival_cutoff(today: dt.date, working_days: int) -> dt.date:
    """The last arrival date whose messages have been unread for more than `working_days` working
    days today: more than that many working days lie after it, up to and including today."""
    day, counted = today, 0
    while counted <= working_days:
        if is_working_day(day):
            counted += 1
        day -= dt.timedelta(days=1)
    return day


def working_days_before(now: dt.datetime, working_days: int) -> dt.datetime:
    """The latest moment from which `working_days` working days of time have passed by `now`:
    whatever arrived at or before it has waited that long. Outside working days the clock stands
    still, so `now` on a weekend or holiday counts as the start of the next working day."""
    local = timezone.localtime(now)
    day, time = local.date(), local.time().replace(tzinfo=None)
    if not is_working_day(day):
        day, time = working_day_step(day, 1), dt.time.min
    back = working_day_step(day, -working_days)
    return timezone.make_aware(dt.datetime.combine(back, time), timezone.get_current_timezone())
