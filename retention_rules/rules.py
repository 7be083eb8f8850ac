"""The rules in effect and how a rule turns into a cut-off (reads only; changes: retention_rules.services)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Kind, RetentionRule

# SoL 12:2 with socialtjänstförordningen: the records of people born on these days are kept for
# research. A coordination number (samordningsnummer) carries the day plus 60.
RESEARCH_DAYS = ("05", "15", "25", "65", "75", "85")


def rules_in_effect(*, today: dt.date | None = None) -> dict[str, RetentionRule]:
    """{kind: the rule in effect}: per kind, the latest version whose `active_from` has come."""
    today = today or timezone.localdate()
    rules: dict[str, RetentionRule] = {}
    for rule in RetentionRule.objects.filter(active_from__lte=today).order_by("kind", "-active_from", "-id"):
        rules.setdefault(rule.kind, rule)
    return rules


def rule_ids_in_effect(*, today: dt.date | None = None) -> dict[str, int]:
    return {kind: rule.pk for kind, rule in rules_in_effect(today=today).items()}


def cutoff(rule: RetentionRule, *, now: dt.datetime) -> dt.datetime | None:
    """Records from before this moment are past the rule's period; None: the rule keeps them."""
    if rule.period is None:
        return None
    if rule.unit == RetentionRule.Unit.DAYS:
        return now - dt.timedelta(days=rule.period)
    try:
        return now.replace(year=now.year - rule.period)
    except ValueError:  # 29 February, in a year that has none
        return now.replace(year=now.year - rule.period, day=28)


def is_research_sample(personnummer: str) -> bool:
    return len(personnummer) == 12 and personnummer[6:8] in RESEARCH_DAYS


def rule_validate(*, kind: str, period: int | None, research_sample: bool) -> None:
    if kind == Kind.CHANGE_LOG and period is not None:
        raise ValidationError(
            _("The change log cannot be removed: the database keeps it append-only. Leave the period empty."),
            code="change_log",
        )
    if kind in (Kind.ACCESS_LOG, Kind.CHANGE_LOG) and research_sample:
        raise ValidationError(
            _(
                "The research sample applies to messages and attachments only: the logs are kept or "
                "removed as a whole."
            ),
            code="research_sample",
        )
