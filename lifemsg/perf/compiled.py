"""Hot queries compiled to SQL once per process, then run with each request's values.

Building a queryset and compiling it to SQL is Python work that does not depend on the values in it:
for the joins and subqueries of the pages every handler opens it costs more than running the query
(figures in the README's benchmark section). A `CompiledQuery` builds its queryset once per
*shape* with stand-in values, keeps the SQL and its parameters, and runs that SQL again with the
real values put in the stand-ins' places. Django still turns the rows into objects exactly as for the queryset
(select_related, annotations, values_list, prefetch_related): only the building and compiling are
skipped.

The build function takes keyword arguments of two kinds:
- values: ints, strings, datetimes and dates that the query passes to the database as parameters
  (ids, a session key, "now"). Each must reach the SQL as a parameter as it is: one that Django
  inlines, transforms or drops raises CompiledQueryError when the query is first compiled, never a
  wrong result.
- shape: anything that changes the SQL itself (a filter applied or not, the length of an IN list, a
  page's OFFSET). Passed as `shape={...}`, hashable, part of the cache key; a query keeps at most
  `max_shapes` shapes (least recently used dropped).

Anything read from the database while building (a content type's id) must be a value, not baked in:
the database may be a different one later in the process (tests). The build function must not run
queries itself; it returns a lazy queryset.

With the fast path off (lifemsg.perf.enabled()), `fetch` builds the queryset with the real values and
lets Django run it, every time: the same rows, by Django's own path.
"""

from __future__ import annotations

import copy
import datetime
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from . import enabled

__all__ = ["CompiledQuery", "CompiledQueryError"]


class CompiledQueryError(Exception):
    """A build function whose values do not all reach the SQL as parameters."""


_STANDIN_INT = 2_147_480_000  # below 2**31 - 1: valid for every integer column, so never elided


def _standins(values: dict[str, Any]) -> dict[str, Any]:
    """One distinct stand-in per value, of the value's own type."""
    standins = {}
    for index, (name, value) in enumerate(sorted(values.items())):
        if isinstance(value, bool) or value is None:
            raise CompiledQueryError(f"{name}: pass booleans and None as shape, not as a value")
        if isinstance(value, int):
            standins[name] = _STANDIN_INT + index
        elif isinstance(value, str):
            standins[name] = f"\u2063compiled-query-value-{index}\u2063"
        elif isinstance(value, datetime.datetime):
            standins[name] = datetime.datetime(1901, 1, 1, 0, 0, index, 4321, tzinfo=value.tzinfo)
        elif isinstance(value, datetime.date):
            standins[name] = datetime.date(1901, 1, 1) + datetime.timedelta(days=index)
        else:
            raise CompiledQueryError(f"{name}: a {type(value).__name__} cannot be a value; pass it as shape")
    return standins


def _adapted(connection, value):
    """A value as the database backend's operations pass it for a date or time column (SQLite:
    text in UTC; PostgreSQL: the value itself), as Django does when it compiles the lookup."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _fresh(queryset: QuerySet) -> QuerySet:
    """An unevaluated copy of a compiled queryset, to be run once: a shallow copy of it and of its
    query (the copy's query gets the run's compiler), instead of QuerySet._chain()'s full clone of
    the query, a large share of a compiled query's Python time. Nothing in running the query
    changes it: the compiler was set up when the shape was compiled."""
    fresh = object.__new__(type(queryset))
    fresh.__dict__.update(queryset.__dict__)
    fresh._result_cache = None
    fresh._prefetch_done = False
    query = object.__new__(type(queryset.query))
    query.__dict__.update(queryset.query.__dict__)
    fresh._query = query  # not the `query` setter: that would reset a values_list's iterable class
    return fresh


@dataclass
class _Compiled:
    queryset: QuerySet | None  # None: the shape selects nothing (Django's EmptyResultSet)
    compiler: Any = None
    sql: str = ""
    params: tuple = ()
    slots: tuple[tuple[int, str], ...] = ()  # (parameter position, value name)
    # The compiler's default select list and its converters, worked out once (see converters_for).
    fields: tuple = ()
    converters: dict | None = None

    def params_for(self, connection, values: dict[str, Any]) -> list:
        """The compiled parameters with this run's values in the stand-ins' places."""
        params = list(self.params)
        for position, name in self.slots:
            params[position] = _adapted(connection, values[name])
        return params

    def converters_for(self, compiler, expressions):
        """`compiler.get_converters` for a run of this shape. For the compiler's own select (the
        list every iterable asks for) the converters worked out when the shape was compiled: working
        them out again, a field comparison and two method calls per column, was a quarter of a
        compiled query's Python time. They are the backend's and the fields' functions, the same for
        every connection to the database; the run's connection is passed to them when they run.
        Any other list is worked out as Django does."""
        if len(expressions) == len(self.fields) and all(
            a is b for a, b in zip(expressions, self.fields, strict=True)
        ):
            return self.converters
        return type(compiler).get_converters(compiler, expressions)


class CompiledQuery:
    """`build(**values, **shape)` returns a lazy queryset; `fetch(shape=..., **values)` returns its rows
    as a list, compiling the shape the first time it is asked for."""

    def __init__(self, build: Callable[..., QuerySet], *, max_shapes: int = 256):
        self._build = build
        self._max_shapes = max_shapes
        self._compiled: OrderedDict[Hashable, _Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<CompiledQuery {getattr(self._build, '__qualname__', self._build)!r}>"

    def fetch(self, shape: dict[str, Hashable] | None = None, **values) -> list:
        shape = shape or {}
        if not enabled():
            return list(self._build(**shape, **values))
        compiled = self._get(shape, values)
        if compiled.queryset is None:
            return []
        queryset = _fresh(compiled.queryset)
        connection = connections[queryset.db]  # this thread's connection
        params = compiled.params_for(connection, values)
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connection
        frozen = (compiled.sql, tuple(params))
        compiler.as_sql = lambda *args, **kwargs: frozen
        compiler.get_converters = functools.partial(compiled.converters_for, compiler)
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return list(queryset)

    def as_sql(self, shape: dict[str, Hashable] | None = None, **values) -> tuple[str, list] | None:
        """The SQL and parameters the query runs with these values, without running it: to put it
        inside another statement (a WITH). None for a shape that selects nothing."""
        if not enabled():
            queryset = self._build(**(shape or {}), **values)
            try:
                sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
            except EmptyResultSet:
                return None
            return sql, list(params)
        compiled = self._get(shape or {}, values)
        if compiled.queryset is None:
            return None
        return compiled.sql, compiled.params_for(connections[compiled.queryset.db], values)

    def first(self, shape: dict[str, Hashable] | None = None, **values):
        rows = self.fetch(shape, **values)
        return rows[0] if rows else None

    def _get(self, shape: dict[str, Hashable], values: dict[str, Any]) -> _Compiled:
        key = (tuple(sorted(shape.items())), tuple(sorted(values)))
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is not None:
                self._compiled.move_to_end(key)
                return compiled
        compiled = self._compile(shape, values)
        with self._lock:
            self._compiled[key] = compiled
            while len(self._compiled) > self._max_shapes:
                self._compiled.popitem(last=False)
        return compiled

    def _compile(self, shape: dict[str, Hashable], values: dict[str, Any]) -> _Compiled:
        overlap = set(shape) & set(values)
        if overlap:
            raise CompiledQueryError(f"{sorted(overlap)} given both as shape and as value")
        standins = _standins(values)
        queryset = self._build(**shape, **standins)
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled(queryset=None)
        connection = compiler.connection
        by_standin = {}
        for name, standin in standins.items():
            adapted = _adapted(connection, standin)
            by_standin[(type(adapted), adapted)] = name
        slots = []
        for position, param in enumerate(params):
            try:
                name = by_standin.get((type(param), param))
            except TypeError:  # an unhashable parameter (a list for an array column): a constant
                continue
            if name is not None:
                slots.append((position, name))
        missing = set(standins) - {name for _, name in slots}
        if missing:
            raise CompiledQueryError(
                f"{self!r}: {sorted(missing)} did not reach the SQL as parameters (inlined, transformed "
                "or unused); pass what changes the SQL as shape"
            )
        if any(isinstance(adapted, str) and adapted in sql for _, adapted in by_standin):
            raise CompiledQueryError(f"{self!r}: a value was written into the SQL text")
        fields = tuple(column[0] for column in compiler.select[0 : compiler.col_count])
        return _Compiled(
            queryset=queryset,
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            fields=fields,
            converters=compiler.get_converters(fields),
        )
