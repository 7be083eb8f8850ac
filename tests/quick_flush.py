"""The flush after each transactional test, on PostgreSQL: DELETE where Django would TRUNCATE.

A transactional test (live server, real worker, committed rows) ends with Django's `flush`, which
on PostgreSQL is one TRUNCATE of every table. TRUNCATE gives each of the ~55 tables new files, and
committing that costs seconds on a busy machine; deleting the few rows a test left costs
milliseconds. The tables end up as empty either way. Django's foreign keys are deferrable (checked
at commit, and the flush runs in one transaction), so the DELETEs need no order. Tables with
triggers of their own (the append-only audit tables refuse DELETE) are still truncated, first:
TRUNCATE refuses a table with deferred checks already queued by a DELETE in the same transaction.
A flush that resets sequences runs Django's own statement.

Test-only: installed by tests/conftest.py; tests/test_django_internals.py names what it relies on
(`flush` gets its statements from `connection.ops.sql_flush` and runs them in one transaction).
"""

from __future__ import annotations

from django.db.backends.postgresql.operations import DatabaseOperations

_truncate_all = DatabaseOperations.sql_flush

TABLES_WITH_TRIGGERS = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
"""


def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False) -> list[str]:
    if reset_sequences or not tables:
        return _truncate_all(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    with self.connection.cursor() as cursor:
        cursor.execute(TABLES_WITH_TRIGGERS, [list(tables)])
        guarded = sorted(name for (name,) in cursor.fetchall())
    statements = _truncate_all(self, style, guarded, allow_cascade=allow_cascade) if guarded else []
    return statements + [f"DELETE FROM {self.quote_name(t)};" for t in tables if t not in guarded]


def install() -> None:
    DatabaseOperations.sql_flush = sql_flush
