"""The fast path, fenced: everything that leans on Django's internals or on PostgreSQL-only
statements to make the hottest pages cheaper lives in this package, behind one setting.

- `compiled`: querysets compiled to SQL once per process (overrides a compiler's `as_sql` and
  `get_converters`, a query's `get_compiler`; reads `compiler.select[:col_count]`).
- `inserts`: one-statement `INSERT … RETURNING` built from a model's fields.
- `handoff`: the session read hands the user it brought along to the auth backend (a ContextVar).
- `middleware`: replaces the lazy `request.user` with the user (reads `LazyObject._wrapped`).

`LIFEMSG_FAST_PATH` (setting and environment variable, default on) turns all of it off: callers
ask this package (`enabled()`, `fast_sql()`, `CompiledQuery.fetch`, …) and get Django's own ORM
paths with the same results. tests/test_django_internals.py names every internal used here, so a
Django upgrade that changes one fails there first.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

__all__ = ["enabled", "fast_sql"]


def enabled() -> bool:
    """Is the fast path on (settings.LIFEMSG_FAST_PATH)?"""
    return getattr(settings, "LIFEMSG_FAST_PATH", True)


def fast_sql(using: str = "default") -> bool:
    """May a caller run the fast path's PostgreSQL-only statements (data-modifying WITH queries,
    array subqueries) on this database? Else it takes its ORM path."""
    return enabled() and connections[using].vendor == "postgresql"
