"""Showing absence periods the way people say them: whole days as dates ("1–5 december"),
times only where an absence starts or ends mid-day; always local time (Europe/Stockholm)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..models import Absence
from ..timeutil import is_local_midnight, last_day_text

register = template.Library()


@register.filter
def absence_start(absence: Absence) -> str:
    local = timezone.localtime(absence.starts_at)
    if is_local_midnight(absence.starts_at):
        return formats.date_format(local, "j F Y")
    return formats.date_format(local, "j F Y H:i")


@register.filter
def absence_last_day(moment: datetime | None) -> str:
    """The last day covered ('5 december 2026'), or date and time for a mid-day end."""
    if moment is None:
        return _("until further notice")
    return last_day_text(moment)


@register.filter
def absence_period(absence: Absence) -> str:
    end = absence.effective_end
    if end is None:
        return _("from %(start)s, until further notice") % {"start": absence_start(absence)}
    values = {"start": absence_start(absence), "end": absence_last_day(end)}
    if is_local_midnight(end):
        return _("%(start)s to and including %(end)s") % values
    return _("%(start)s to %(end)s") % values


@register.filter
def local_datetime(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return formats.date_format(timezone.localtime(moment), "j F Y H:i")


@register.filter
def absence_until(absence: Absence) -> str:
    """'until and including 5 december 2026', 'until 5 december 2026 14:00', 'until further notice'."""
    end = absence.effective_end
    if end is None:
        return _("until further notice")
    if is_local_midnight(end):
        return _("until and including %(day)s") % {"day": absence_last_day(end)}
    return _("until %(moment)s") % {"moment": absence_last_day(end)}
