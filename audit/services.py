import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AccessLogEntry, AccessLogHead, AuditEvent


def audit_event_record(
    *,
    actor,
    action: str,
    target,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        before=before,
        after=after,
        reason=reason,
    )


def _entry_payload(entry: AccessLogEntry) -> str:
    fields = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "user": entry.user_id,
        "user_units": entry.user_units,
        "user_roles": entry.user_roles,
        "action": entry.action,
        "route": entry.route,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "thread_id": entry.thread_id,
        "mailbox_id": entry.mailbox_id,
        "case_id": entry.case_id,
        "unit_id": entry.unit_id,
        "citizen": entry.citizen_id,
        "detail": entry.detail,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(entry: AccessLogEntry) -> str:
    return hashlib.sha256((entry.prev_hash + _entry_payload(entry)).encode()).hexdigest()


def _user_snapshot(user) -> tuple[str, str]:
    units = ", ".join(sorted(user.unit_memberships.values_list("unit__name", flat=True)))
    roles = ", ".join(sorted(user.groups.filter(name__in=_role_names()).values_list("name", flat=True)))
    return units, roles


def _role_names():
    from accounts.roles import ALL_ROLES

    return ALL_ROLES


@transaction.atomic
def access_log_record(
    *,
    user,
    action: str,
    route: str,
    object_type: str,
    object_id: int | None = None,
    thread_id: int | None = None,
    mailbox_id: int | None = None,
    case_id: int | None = None,
    unit_id: int | None = None,
    citizen_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Append one entry to the chain. Raises if it cannot be written: callers call this *before*
    rendering the data, so a read never happens unlogged."""
    head, _ = AccessLogHead.objects.select_for_update().get_or_create(id=1)
    units, roles = _user_snapshot(user)
    entry = AccessLogEntry(
        seq=head.seq + 1,
        at=timezone.now(),
        user=user,
        user_units=units[:500],
        user_roles=roles[:500],
        action=action,
        route=route,
        object_type=object_type,
        object_id=object_id,
        thread_id=thread_id,
        mailbox_id=mailbox_id,
        case_id=case_id,
        unit_id=unit_id,
        citizen_id=citizen_id,
        detail=detail or {},
        prev_hash=head.last_hash,
    )
    entry.entry_hash = entry_hash(entry)
    entry.save(force_insert=True)
    head.seq = entry.seq
    head.last_hash = entry.entry_hash
    head.save(update_fields=["seq", "last_hash"])
    return entry
