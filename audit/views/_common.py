"""What the log-review pages share: the reviewer's own access-log entry (written before anything is
shown) and an entry's row in a CSV export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .. import services
from ..models import AccessLogEntry

PAGE_SIZE = 50
Action = AccessLogEntry.Action
Route = AccessLogEntry.Route


def log_review_access(
    request: HttpRequest, *, action: str, what: str, citizen_id=None, unit_id=None, **detail
):
    """The reviewer's own access-log entry, written before anything is shown."""
    return services.access_log_record(
        user=request.user,
        action=action,
        route=Route.LOG_REVIEW,
        object_type=what,
        citizen_id=citizen_id,
        unit_id=unit_id,
        detail=detail,
    )


def local_time(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def entry_row(entry: AccessLogEntry) -> list[Any]:
    citizen = entry.citizen.citizen if entry.citizen_id and hasattr(entry.citizen, "citizen") else None
    return [
        entry.seq,
        local_time(entry.at),
        entry.user.username,
        entry.user.display_name,
        entry.user_units,
        entry.user_roles,
        entry.get_action_display(),
        entry.get_route_display(),
        entry.object_type,
        entry.object_id,
        entry.thread_id,
        entry.case_reference or "",
        entry.unit_name or "",
        citizen.personnummer_formatted if citizen else "",
        str(citizen) if citizen else "",
    ]


def entry_header() -> list[str]:
    return [
        _("Entry no."),
        _("Time"),
        _("User name"),
        _("Staff member"),
        _("Staff member's units at the time"),
        _("Staff member's roles at the time"),
        pgettext("access log", "Action"),
        _("Access route"),
        _("Object type"),
        _("Object id"),
        _("Thread id"),
        _("Case number"),
        _("Unit read"),
        _("Citizen's personal identity number"),
        _("Citizen"),
    ]


def stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")
