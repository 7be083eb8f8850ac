"""make test-sqlite: Django's test flush past the append-only triggers.

A transactional test ends with Django's flush. On PostgreSQL that is TRUNCATE, which the append-only
triggers of the audit and access logs (audit migrations 0003-0005) do not trap, by design; on SQLite
it is DELETE, which they refuse. So on SQLite the flush drops every trigger, deletes, and creates the
triggers again from their own SQL (sqlite_master), all in the flush's one transaction: the tests
after it meet the same triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def flush_past_triggers() -> Iterator[None]:
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseOperations

    django_flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            triggers = cursor.fetchall()
        drop = [f"DROP TRIGGER {self.quote_name(name)}" for name, _ in triggers]
        django_flush(self, [*drop, *sql_list, *(sql for _, sql in triggers)])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    try:
        yield
    finally:
        DatabaseOperations.execute_sql_flush = django_flush
