"""Bulk loading for the benchmark workload: PostgreSQL COPY of model instances built in Python, so
model defaults and new columns are handled by Django's own field preparation."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models


def copy_instances(model: type[models.Model], objs: Iterable[models.Model], *, with_pk: bool = True) -> int:
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and not with_pk) and not getattr(f, "generated", False)
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
                count += 1
    return count


def reset_sequence(model: type[models.Model]) -> None:
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(sql)
