"""Bar charts as geometry for server-rendered inline SVG (absence/_overview_chart.html): no script,
no style attributes — the strict CSP allows neither; colours come from classes in app.css. Each
chart travels with its rows, which the template shows as the chart's data table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from django.utils import formats
from django.utils.translation import gettext as _

from .overview import DayPoint

WIDTH = 600
HEIGHT = 180
LEFT = 40  # room for the value labels
BOTTOM = 24  # room for the day labels
TOP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    key: str  # unique on the page, for ids
    caption: str
    value_header: str
    bars: list[Bar]
    ticks: list[Tick]
    day_labels: list[DayLabel]
    rows: list[tuple[date, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def _nice_max(peak: float) -> float:
    """A round top for the scale (1, 2, 5 × 10^n) at or above the highest value."""
    if peak <= 0:
        return 1
    power = 10 ** math.floor(math.log10(peak))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= peak)


def _number(value: float) -> str:
    return formats.number_format(value, decimal_pos=0 if float(value).is_integer() else 1, use_l10n=True)


def bar_chart(
    *, key: str, caption: str, value_header: str, days: list[date], values: list[float | None]
) -> Chart:
    """One bar per day; an empty value (None) draws no bar and reads "–" in the table."""
    top = _nice_max(max((v for v in values if v is not None), default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    baseline = HEIGHT - BOTTOM
    slot = (WIDTH - LEFT) / max(len(values), 1)
    bars = []
    for i, value in enumerate(values):
        height = 0 if not value else plot_height * value / top
        bars.append(
            Bar(
                x=round(LEFT + i * slot + 1, 1),
                y=round(baseline - height, 1),
                width=round(slot - 2, 1),
                height=round(height, 1),
            )
        )
    ticks = [Tick(y=round(baseline - plot_height * f, 1), label=_number(top * f)) for f in (0, 0.5, 1)]
    labelled = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    day_labels = [
        DayLabel(x=round(LEFT + (i + 0.5) * slot, 1), label=formats.date_format(days[i], "j/n"))
        for i in labelled
    ]
    rows = [(day, "–" if value is None else _number(value)) for day, value in zip(days, values, strict=True)]
    return Chart(key, caption, value_header, bars, ticks, day_labels, rows)


def mailbox_charts(*, mailbox_id: int, points: list[DayPoint]) -> list[Chart]:
    days = [p.day for p in points]
    return [
        bar_chart(
            key=f"unread-{mailbox_id}",
            caption=_("Unread messages at the end of each day, last 30 days"),
            value_header=_("Unread"),
            days=days,
            values=[p.unread for p in points],
        ),
        bar_chart(
            key=f"oldest-{mailbox_id}",
            caption=_("Age of the oldest unread message at the end of each day (days), last 30 days"),
            value_header=_("Oldest unread (days)"),
            days=days,
            values=[p.oldest_unread_days for p in points],
        ),
        bar_chart(
            key=f"handled-{mailbox_id}",
            caption=_("Messages handled per day, last 30 days"),
            value_header=_("Handled"),
            days=days,
            values=[p.handled for p in points],
        ),
    ]
