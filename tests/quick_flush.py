"""The flush after each transactional test, on PostgreSQL: DELETE where Django would TRUNCATE.

A transactional test (live server, real worker, committed rows) ends with Django's `flush`, which
on PostgreSQL is one TRUNCATE of every table. TRUNCATE gives each of the ~55 tables new files, and
committing that costs seconds on a busy machine; deleting the few rows a test left costs
milliseconds. Django's foreign keys are deferrable (checked
at commit, and the flush runs in one transaction), so the DELETEs need no order. Tables with
triggers of their own (the append-only audit tables refuse DELETE) are still truncated, first:
TRUNCATE refuses a table with deferred checks already queued by a DELETE in the same transaction.
Then the rows the database held before the first transactional test (what the migrations wrote)
are put back, so the next test need not recreate them, and the flush skips the post_migrate
handlers that would only find them there. A flush that resets sequences runs Django's own
statement and puts nothing back.

Test-only: installed by tests/conftest.py; tests/test_django_internals.py names what it relies on
(`flush` gets its statements from `connection.ops.sql_flush`, runs them in one transaction, then
calls its module's `emit_post_migrate_signal`).
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db.backends.postgresql.operations import DatabaseOperations

_truncate_all = DatabaseOperations.sql_flush
_emit_post_migrate = flush.emit_post_migrate_signal

TABLES_WITH_TRIGGERS = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
"""


# INSERT statements that put back the rows the database held when the snapshot was taken: what the
# migrations wrote (content types, permissions, the roles and their permissions).
_snapshot: list[str] = []


def snapshot_take(connection) -> None:
    """Keep the rows every table holds now, for each later flush to put back in its transaction; a
    transactional test then starts from the database the migrations left, as a `db` test does, and
    need not recreate the roles (nor do `db` tests that run after it)."""
    from psycopg import sql

    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    statements = []
    with connection.cursor() as cursor:
        for table in sorted(tables):
            name = connection.ops.quote_name(table)
            cursor.execute(f"SELECT json_agg(t)::text FROM {name} t")
            (rows,) = cursor.fetchone()
            if rows:
                literal = sql.Literal(rows).as_string(cursor.connection)
                statements.append(
                    f"INSERT INTO {name} SELECT * FROM json_populate_recordset(NULL::{name}, {literal});"
                )
    _snapshot[:] = statements


def snapshot_restores() -> bool:
    return bool(_snapshot)


def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False) -> list[str]:
    if reset_sequences or not tables:
        return _truncate_all(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    with self.connection.cursor() as cursor:
        cursor.execute(TABLES_WITH_TRIGGERS, [list(tables)])
        guarded = sorted(name for (name,) in cursor.fetchall())
    statements = _truncate_all(self, style, guarded, allow_cascade=allow_cascade) if guarded else []
    statements += [f"DELETE FROM {self.quote_name(t)};" for t in tables if t not in guarded]
    return statements + _snapshot


def _post_migrate_unless_restored(*args, **kwargs) -> None:
    """After a flush that put the snapshot back, the post_migrate handlers (content types,
    permissions) would only read what is already there."""
    if not _snapshot:
        _emit_post_migrate(*args, **kwargs)


def install() -> None:
    DatabaseOperations.sql_flush = sql_flush
    flush.emit_post_migrate_signal = _post_migrate_unless_restored
