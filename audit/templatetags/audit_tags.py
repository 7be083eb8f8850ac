from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

EVENT_LABELS = {
    "unit.create": _("Unit created"),
    "membership.add": _("Member added"),
    "membership.remove": _("Member removed"),
    "mailbox_access.revoke": _("Group-mailbox access revoked"),
    "role.grant": _("Role given"),
    "role.revoke": _("Role taken away"),
    "case.create": _("Case created"),
    "case.assign": _("Handlers changed"),
    "case.close": _("Case closed"),
    "case.update": _("Case changed"),
    "absence.create": _("Absence planned"),
    "absence.change": _("Absence changed"),
    "absence.cancel": _("Absence cancelled"),
    "absence.start": _("Forwarding switched on"),
    "absence.end": _("Forwarding switched off"),
    "retention.access_log": _("Old access-log entries removed"),
    "retention.access_log_refused": _("Access-log retention refused (chain broken)"),
    "retention.access_log_chain_broken": _("Access log chain found broken"),
    "retention.messages": _("Old messages removed"),
    "retention.uploads": _("Files never sent removed"),
    "retention.attachments": _("Old attachments removed"),
    "retention.rule_change": _("Retention rule changed"),
    "retention.run_propose": _("Retention run proposed (review list)"),
    "retention.run_approve": _("Retention run approved"),
    "retention.run_done": _("Retention run finished"),
    "retention.run_cancelled": _("Retention run cancelled"),
    "retention.run_failed": _("Retention run failed"),
    "log_review.sample": _("Random sample drawn"),
    "log_review.complete": _("Log review recorded"),
}

KEY_LABELS = {
    "user": _("user"),
    "roles": _("roles"),
    "units": _("units"),
    "handler": _("handler"),
    "co_handlers": _("co-handlers"),
    "name": _("name"),
    "deleted": _("removed"),
    "outcome": _("outcome"),
    "reason": _("reason"),
    # retention events (retention.access_log, retention.messages, retention.uploads)
    "cutoff": _("older than"),
    "retention_days": _("retention period (days)"),
    "retention_hours": _("retention period (hours)"),
    "messages": _("messages"),
    "deliveries": _("copies in mailboxes"),
    "attachments": _("attachments"),
    "recipients": _("recipients"),
    "notifications": _("notifications"),
    "auto_replies": _("out-of-office replies"),
    "escalations": _("unread escalations"),
    "summaries_updated": _("inbox rows recounted"),
    "summaries_deleted": _("inbox rows removed"),
    "threads_deleted": _("threads removed"),
    "threads_kept": _("empty threads kept for their case"),
    "entries": _("access-log entries"),
    # retention runs (retention.run_*): counts per kind of record
    "review": _("review list"),
    "removed": _("removed so far"),
    "rules": _("rule versions"),
    "run": _("retention run"),
}


@register.filter
def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


@register.filter
def state(value) -> str:
    """A before/after snapshot in a line a reviewer can read."""
    if value in (None, "", {}, []):
        return "–"
    if not isinstance(value, dict):
        return str(value)
    parts = []
    for key, item in value.items():
        if isinstance(item, list | tuple):
            item = ", ".join(str(i) for i in item) or "–"
        elif item is None:
            item = "–"
        parts.append(f"{KEY_LABELS.get(key, key)}: {item}")
    return "; ".join(parts)
