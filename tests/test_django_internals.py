"""The canary: every Django internal the fast path (lifemsg/perf) leans on, named in one place.

A Django upgrade that renames, removes or reshapes one of them fails here, by name, before anything
subtler fails elsewhere. The fix is in lifemsg/perf (or LIFEMSG_FAST_PATH=false meanwhile: the
callers then take Django's own paths, which use none of these)."""

from __future__ import annotations

import inspect

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.db.models import Field, QuerySet
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable, ValuesListIterable
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from accounts.models import User
from mailboxes.models import Mailbox


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def _source(function) -> str:
    return inspect.getsource(function)


# --- lifemsg.perf.compiled -----------------------------------------------------------------------


def test_query_get_compiler_takes_using_and_is_what_querysets_ask_for():
    assert _parameters(Query.get_compiler)[:2] == ["self", "using"]
    # A queryset's iterables run `queryset.query.get_compiler(...)`: the compiled query replaces it.
    for iterable in (ModelIterable, ValuesListIterable):
        assert "query.get_compiler(" in _source(iterable.__iter__), iterable


def test_compiler_as_sql_is_what_execute_sql_runs():
    assert _parameters(SQLCompiler.as_sql)[:1] == ["self"]
    assert "self.as_sql()" in _source(SQLCompiler.execute_sql)


def test_compiler_get_converters_takes_the_expressions_and_results_iter_asks_for_them():
    assert _parameters(SQLCompiler.get_converters) == ["self", "expressions"]
    assert "self.get_converters(" in _source(SQLCompiler.results_iter)


@pytest.mark.django_db
def test_compiler_select_holds_the_columns_up_to_col_count_expression_first():
    compiler = Mailbox.objects.select_related("owner").query.get_compiler(using="default")
    compiler.as_sql()
    assert isinstance(compiler.col_count, int)
    columns = compiler.select[0 : compiler.col_count]
    assert len(columns) == compiler.col_count > len(Mailbox._meta.concrete_fields)  # the owner's too
    assert all(hasattr(column[0], "output_field") for column in columns)
    assert isinstance(compiler.get_converters([c[0] for c in columns]), dict)


def test_queryset_keeps_its_query_and_results_in_these_attributes():
    queryset = Mailbox.objects.all()
    for name in ("_query", "_result_cache", "_prefetch_done", "_iterable_class"):
        assert name in queryset.__dict__, name
    assert isinstance(QuerySet.__dict__["query"], property)
    assert QuerySet.__dict__["query"].fset is not None  # the setter compiled.py's _fresh avoids


def test_backend_operations_adapt_dates_for_parameters():
    for name in ("adapt_datetimefield_value", "adapt_datefield_value", "quote_name"):
        assert callable(getattr(connection.ops, name)), name


# --- lifemsg.perf.inserts ------------------------------------------------------------------------


def test_fields_prepare_values_for_saving_and_instances_keep_their_state():
    assert _parameters(Field.get_db_prep_save)[:3] == ["self", "value", "connection"]
    assert _parameters(Field.pre_save) == ["self", "model_instance", "add"]
    state = User()._state
    assert isinstance(state, ModelState)
    assert state.adding is True and hasattr(state, "db")
    assert [f.name for f in User._meta.concrete_fields if f.primary_key] == ["id"]


# --- lifemsg.perf.handoff (accounts.sessions, accounts.backends, eservices.oidc) ------------------


def test_the_database_session_store_reads_through_these_methods():
    for name in ("_get_session_from_db", "create_model_instance", "get_model_class", "load", "save"):
        assert callable(getattr(DatabaseSessionStore, name)), name
    assert "self._get_session_from_db()" in _source(DatabaseSessionStore.load)
    assert _parameters(DatabaseSessionStore.create_model_instance) == ["self", "data"]
    assert callable(SessionBase._get_session)


def test_auth_asks_the_sessions_backend_for_the_user_right_after_reading_the_session():
    source = _source(get_user)
    assert "backend.get_user(user_id)" in source
    assert source.index("_get_user_session_key(request)") < source.index("backend.get_user(user_id)")


# --- lifemsg.perf.middleware ---------------------------------------------------------------------


def test_request_user_is_a_lazy_object_with_wrapped_setup_and_empty():
    assert "SimpleLazyObject" in _source(AuthenticationMiddleware.process_request)
    lazy = SimpleLazyObject(lambda: "user")
    assert isinstance(lazy, LazyObject)
    assert lazy._wrapped is empty
    lazy._setup()
    assert lazy._wrapped == "user"


# --- tests/quick_flush.py (the suite's own flush after transactional tests, not the fast path) ---


def test_flush_takes_its_statements_from_ops_sql_flush_and_runs_them_in_one_transaction():
    from django.core.management import sql
    from django.core.management.commands import flush
    from django.db.backends.base.operations import BaseDatabaseOperations
    from django.db.backends.postgresql.operations import DatabaseOperations

    assert _parameters(DatabaseOperations.sql_flush) == [
        "self",
        "style",
        "tables",
        "reset_sequences",
        "allow_cascade",
    ]
    assert "connection.ops.sql_flush(" in _source(sql.sql_flush)
    assert "connection.ops.execute_sql_flush(sql_list)" in _source(flush.Command.handle)
    assert "transaction.atomic(" in _source(BaseDatabaseOperations.execute_sql_flush)
    assert "emit_post_migrate_signal(verbosity, interactive, database)" in _source(flush.Command.handle)
