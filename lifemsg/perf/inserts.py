"""INSERT … RETURNING id for model instances, as plain SQL built from the model's fields.

For the writes on the hottest paths (a citizen's message, an access-log entry), where Django's
save() costs more Python time than PostgreSQL takes for the row, and where the INSERT is to go out
in one statement with others (data-modifying WITH queries on PostgreSQL). Identifiers come from
the model, values go as parameters, prepared for the database as save() prepares them."""

from __future__ import annotations

from functools import cache

from django.db import connection

from . import enabled


@cache
def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@cache
def insert_returning_sql(model, *, rows: int = 1) -> str:
    """`INSERT INTO <table> (<every column but the id>) VALUES (…), … RETURNING <id>`, placeholders
    for `rows` rows."""
    qn = connection.ops.quote_name
    fields = _fields(model)
    columns = ", ".join(qn(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES {', '.join([one] * rows)} "  # noqa: S608
        f"RETURNING {qn(model._meta.pk.column)}"
    )


@cache
def insert_from_sql(model, *, source: str, from_source: tuple[str, ...], with_: str) -> str:
    """`WITH … INSERT INTO <table> (<every column but the id>) SELECT … FROM <source> RETURNING
    <id>`: one row for each row of `source` (a WITH query named in `with_`), the columns named in
    `from_source` taken from it, every other column a parameter (`insert_params(…, skip=…)`)."""
    qn = connection.ops.quote_name
    fields = _fields(model)
    columns = ", ".join(qn(f.column) for f in fields)
    values = ", ".join(f"{qn(source)}.{qn(f.column)}" if f.column in from_source else "%s" for f in fields)
    return (
        f"{with_}INSERT INTO {qn(model._meta.db_table)} ({columns}) SELECT {values} FROM {qn(source)} "  # noqa: S608
        f"RETURNING {qn(model._meta.pk.column)}"
    )


def insert_params(instances, *, skip: tuple[str, ...] = ()) -> list:
    """The parameters for `insert_returning_sql` (or, leaving out the columns in `skip`, for
    `insert_from_sql`), row after row, as save() would send them."""
    params = []
    for instance in instances:
        params.extend(
            f.get_db_prep_save(f.pre_save(instance, True), connection)
            for f in _fields(type(instance))
            if f.column not in skip
        )
    return params


def mark_inserted(instances, ids) -> None:
    """Give the instances the ids the INSERT returned, and mark them saved."""
    for instance, pk in zip(instances, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias


def insert_rows(instances: list) -> None:
    """Insert new instances of one model and give them their ids: with the fast path on, the one
    `INSERT … RETURNING` above; else Django's bulk_create (which also returns the ids, on PostgreSQL
    and SQLite)."""
    if not instances:
        return
    model = type(instances[0])
    if not enabled():
        model._default_manager.bulk_create(instances)
        return
    with connection.cursor() as cursor:
        cursor.execute(insert_returning_sql(model, rows=len(instances)), insert_params(instances))
        mark_inserted(instances, [row[0] for row in cursor.fetchall()])
