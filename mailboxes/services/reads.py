"""Access-log entries for staff reads of citizen threads (written through audit's one door)."""

from __future__ import annotations

# Looked up at call time, so a test can make the log store fail (tests/mailboxes/test_citizen_threads.py).
from audit import services as audit_services

from ..models import Mailbox, Thread


def access_log_citizen_read(*, user, **read):
    """The access-log entry for a staff read of a citizen thread (or its attachment, or a forward);
    `read` holds `_citizen_read_entry`'s arguments (action, route, thread, mailbox, case, ...).
    Called before anything is rendered; if it raises, the read fails."""
    return audit_services.access_log_record(user=user, **_citizen_read_entry(**read))


def access_log_citizen_reads(*, user, reads: list[dict]):
    """Several reads at once (a search result page naming several citizens), each a dict of
    `access_log_citizen_read`'s keyword arguments except `user`: written together, or not at all."""
    return audit_services.access_log_record_many(
        user=user, entries=[_citizen_read_entry(**read) for read in reads]
    )


def _citizen_read_entry(
    *,
    action: str,
    route: str,
    thread: Thread,
    mailbox: Mailbox | None = None,
    case=None,
    object_type: str = "thread",
    object_id: int | None = None,
    detail: dict | None = None,
) -> dict:
    unit_id = mailbox.unit_id if mailbox is not None and mailbox.unit_id else getattr(case, "unit_id", None)
    return {
        "action": action,
        "route": route,
        "object_type": object_type,
        "object_id": object_id if object_id is not None else thread.pk,
        "thread_id": thread.pk,
        "mailbox_id": mailbox.pk if mailbox is not None else None,
        "case_id": case.pk if case is not None else None,
        "unit_id": unit_id,
        "citizen_id": thread.citizen_id,
        "detail": detail,
    }
