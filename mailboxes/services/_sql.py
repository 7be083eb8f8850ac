"""The raw SQL statements of the mailbox services, in one place.

Each one is a write on a hot path where the ORM would need more round trips than the database needs
work (a data-modifying WITH query, an INSERT that says which rows it made, a batch of prepared
UPDATEs). Identifiers come from the models, values always go as parameters.
"""

from __future__ import annotations

from functools import cache

from django.db import connection

from lifemsg.perf.inserts import insert_from_sql

from ..models import Delivery, MailboxThread, Message, Thread

# Mark a mailbox's unread copies of a thread read and lower its summary's unread count by exactly the
# rows changed, in one statement. Parameters: read_at, read_by_id, mailbox_id, thread_id, mailbox_id,
# thread_id. Returns one row (the count) when anything was marked.
MARK_READ_SQL = f"""
WITH marked AS (
    UPDATE {Delivery._meta.db_table} SET read_at = %s, read_by_id = %s
    WHERE mailbox_id = %s AND thread_id = %s AND read_at IS NULL
    RETURNING 1
)
UPDATE {MailboxThread._meta.db_table}
SET unread_count = GREATEST(unread_count - (SELECT count(*) FROM marked), 0)
WHERE mailbox_id = %s AND thread_id = %s AND EXISTS (SELECT 1 FROM marked)
RETURNING (SELECT count(*) FROM marked)
"""  # noqa: S608 - table names come from the models, values are parameters

# The message columns a guard statement provides (the rest are parameters).
MESSAGE_FROM_GUARD = ("thread_id",)


@cache
def message_insert_sql(guard_sql: str) -> str:
    """INSERT a message into the thread the guard selects, moving the thread's last_message_at on
    (both as WITH queries); returns the message id and the thread id, or no row when the guard
    selected nothing. Parameters: the guard's, last_message_at twice, the message's columns."""
    qn = connection.ops.quote_name
    last = qn(Thread._meta.get_field("last_message_at").column)
    with_ = (
        f"WITH guard AS ({guard_sql}), "  # noqa: S608 (the guard is compiled SQL; values are parameters)
        f"thread AS (UPDATE {qn(Thread._meta.db_table)} SET {last} = %s "
        f"WHERE {qn(Thread._meta.pk.column)} = (SELECT thread_id FROM guard) AND {last} < %s) "
    )
    insert = insert_from_sql(Message, source="guard", from_source=MESSAGE_FROM_GUARD, with_=with_)
    return insert + ", thread_id"


# The summary columns the summary maintainer writes (summaries.summaries_apply).
SUMMARY_COLUMNS = (
    "mailbox_id",
    "thread_id",
    "message_count",
    "unread_count",
    "last_activity_at",
    "latest_sender_name",
    "latest_snippet",
    "counterpart_name",
    "forwarded_for_name",
    "forwarded_by_name",
    "handled_at",
    "handled_by_id",
)
_KEY_COLUMNS = 2  # mailbox_id, thread_id: set on insert, the WHERE of an update


@cache
def summary_insert_sql(rows: int) -> str:
    """INSERT `rows` new summaries, skipping any (mailbox, thread) another transaction has created
    meanwhile; returns (mailbox_id, thread_id) of the rows this statement made, so the skipped ones
    can be updated instead. Parameters: SUMMARY_COLUMNS' values row after row."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in SUMMARY_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(SUMMARY_COLUMNS)) + ")"
    return (
        f"INSERT INTO {qn(MailboxThread._meta.db_table)} ({columns}) VALUES {', '.join([one] * rows)} "  # noqa: S608
        f"ON CONFLICT ({qn('mailbox_id')}, {qn('thread_id')}) DO NOTHING "
        f"RETURNING {qn('mailbox_id')}, {qn('thread_id')}"
    )


@cache
def summary_update_sql() -> str:
    """UPDATE one summary by id, every column the maintainer keeps but the key (sent as a batch with
    executemany: bulk_update's CASE expressions cost more to build than a sick call's thousands of
    rows cost the database). Parameters: SUMMARY_COLUMNS' values without the key, then the id."""
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(c)} = %s" for c in SUMMARY_COLUMNS[_KEY_COLUMNS:])
    return f"UPDATE {qn(MailboxThread._meta.db_table)} SET {assignments} WHERE {qn('id')} = %s"  # noqa: S608


def summary_values(row: MailboxThread, *, with_key: bool) -> list:
    """`row`'s values for SUMMARY_COLUMNS (without the key for an update), prepared for the database."""
    ops = connection.ops
    values = [
        row.message_count,
        row.unread_count,
        ops.adapt_datetimefield_value(row.last_activity_at),
        row.latest_sender_name,
        row.latest_snippet,
        row.counterpart_name,
        row.forwarded_for_name,
        row.forwarded_by_name,
        ops.adapt_datetimefield_value(row.handled_at),
        row.handled_by_id,
    ]
    return [row.mailbox_id, row.thread_id, *values] if with_key else values
