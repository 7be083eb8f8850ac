"""Every write to units, membership, mailboxes, threads, messages, deliveries and their summaries.

One module per sub-domain (as Zulip's zerver/actions/): `units` (units, mailboxes, membership),
`messages` (storing messages, staff writing in threads), `deliveries` (placing messages in
mailboxes, read state), `summaries` (the per-(mailbox, thread) summary, kept in one place),
`thread_state` (take, handled, forward by hand), `reads` (access-log entries for reads),
`retention` (the mailbox core's part; audit.message_retention runs a batch as a whole); the raw SQL
statements live in `_sql`. Callers import from the sub-modules; this package re-exports for tests.

Lock order, so that two workers never deadlock: message rows, then delivery rows, then summary rows,
each by ascending id.
"""

from .deliveries import (
    DeliveryPlan,
    deliveries_create,
    deliveries_create_many,
    deliveries_mark_read,
    deliveries_mark_unread,
)
from .messages import (
    internal_reply_store,
    internal_thread_start,
    message_store,
    message_store_if,
    note_add,
    sent_copy_add,
    thread_create,
)
from .reads import access_log_citizen_read, access_log_citizen_reads
from .retention import (
    RETENTION_BATCH_SIZE,
    MessageBatch,
    UploadRetentionResult,
    message_batch_delete,
    message_batch_lock,
    messages_expired_counts,
    uploads_abandoned_count,
    uploads_delete_abandoned,
)
from .summaries import SNIPPET_LENGTH, summaries_expected, summaries_recompute, summary_mismatches
from .thread_state import thread_forward, thread_mark_handled, thread_release, thread_reopen, thread_take
from .units import (
    group_mailbox_access_reset,
    mailbox_personal_for,
    membership_add,
    membership_remove,
    unit_create,
)

__all__ = [
    "RETENTION_BATCH_SIZE",
    "SNIPPET_LENGTH",
    "DeliveryPlan",
    "MessageBatch",
    "UploadRetentionResult",
    "access_log_citizen_read",
    "access_log_citizen_reads",
    "deliveries_create",
    "deliveries_create_many",
    "deliveries_mark_read",
    "deliveries_mark_unread",
    "group_mailbox_access_reset",
    "internal_reply_store",
    "internal_thread_start",
    "mailbox_personal_for",
    "membership_add",
    "membership_remove",
    "message_store",
    "message_store_if",
    "message_batch_delete",
    "message_batch_lock",
    "messages_expired_counts",
    "note_add",
    "sent_copy_add",
    "summaries_expected",
    "summaries_recompute",
    "summary_mismatches",
    "thread_create",
    "thread_forward",
    "thread_mark_handled",
    "thread_release",
    "thread_reopen",
    "thread_take",
    "unit_create",
    "uploads_abandoned_count",
    "uploads_delete_abandoned",
]
