"""Take or mark handled many threads of a group mailbox at once (the list's checkboxes).

Each thread is opened exactly as the single action opens it (mailboxes.permissions.access_thread:
the user may open the mailbox and the mailbox holds the thread, a protected identity's thread only
for the case team) and changed by the single action's own service (mailboxes.sending
.thread_state_change), so the change log, the access log of a citizen thread and the hooks are
the same, entry for entry, as for the same clicks one by one. An id the user may not act on (not in
this mailbox, not theirs to open, no such thread) is counted as not done, without saying which or
why: the answer is the same for a missing and a forbidden thread.

One transaction per thread, in ascending thread id (the lock order of the thread-state service
holds across the batch): a thread's state and its log entries commit together, and no transaction
holds the access log's chain head or a thread's rows longer than one thread's change takes, so a
colleague's single action never waits for a whole batch. A failure part-way leaves the threads
before it done, and the list shows them so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.http import Http404

from audit.models import AccessLogEntry

from .models import Mailbox
from .permissions import ThreadAccess, access_thread
from .sending import thread_state_change

BULK_ACTIONS = {"take": AccessLogEntry.Action.TAKE, "handled": AccessLogEntry.Action.HANDLED}
# A page of the list is 25 threads; a request naming more than this is refused whole.
BULK_MAX_THREADS = 100


@dataclass
class BulkResult:
    done: int = 0
    already: int = 0  # taken by the user already / handled already: nothing to change
    not_done: int = 0  # not in this mailbox or not the user's to open


def _already(access: ThreadAccess, *, action: str, user) -> bool:
    summary = access.summary
    if action == "take":
        # A handled thread is not taken again; one taken by a colleague is (as with the single
        # "I'll take it").
        return summary.handled_at is not None or summary.taken_by_id == user.pk
    return summary.handled_at is not None


def threads_state_change_bulk(
    *, user, mailbox: Mailbox, thread_ids: Iterable[int], action: str
) -> BulkResult:
    """Take (`action` "take") or mark handled ("handled") the threads `thread_ids` of the group
    mailbox `mailbox` (opened by the caller with access_mailbox), one by one as the single action
    does. Http404 for a mailbox that is not a group mailbox or an unknown action."""
    if action not in BULK_ACTIONS or not mailbox.is_group:
        raise Http404
    result = BulkResult()
    for thread_id in sorted(set(thread_ids)):
        try:
            access = access_thread(user=user, mailbox_id=mailbox.pk, thread_id=thread_id)
        except Http404:
            result.not_done += 1
            continue
        if _already(access, action=action, user=user):
            result.already += 1
            continue
        thread_state_change(access=access, action=BULK_ACTIONS[action], user=user)
        result.done += 1
    return result
