"""The audit tables' guards as someone at the database would meet them, on PostgreSQL and SQLite.

The guards themselves are the append-only triggers of audit migrations 0003-0005. A database
superuser can switch a table's triggers off: on PostgreSQL with ALTER TABLE ... DISABLE TRIGGER;
SQLite cannot disable a trigger, so there the superuser drops the table's triggers and creates them
again from their own SQL. Retention's switch is PostgreSQL's transaction-local setting
lifemsg.access_log_retention; SQLite's triggers have no switch (only an anchor and the period let a
row go).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

ACCESS_LOG_TABLES = ("audit_accesslogentry", "audit_accesslogpruning", "audit_accessloghead")


@contextmanager
def triggers_off(*tables: str) -> Iterator:
    """A cursor on which the tables' triggers are off, as a superuser could switch them off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's open transaction holds deferred FK checks, which ALTER TABLE will not run over.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return
        marks = ", ".join(["%s"] * len(tables))
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",  # noqa: S608
            list(tables),
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        yield cursor
        for _, sql in triggers:
            cursor.execute(sql)  # no parameters: the trigger's SQL holds literal '%' (strftime)


def superuser(*statements: tuple[str, list], tables: tuple[str, ...] = ACCESS_LOG_TABLES) -> None:
    """What a database superuser could do: switch the tables' triggers off, run the statements
    (SQL, parameters), switch them on again."""
    with triggers_off(*tables) as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)


def retention_switch_on(cursor) -> None:
    """What retention sets in its transaction before it deletes (PostgreSQL); nothing on SQLite."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT set_config('lifemsg.access_log_retention', 'on', true)")
