"""lifemsg.perf.compiled: a query compiled once runs with each call's values and gives what the queryset
gives; what would change the SQL must be shape, and misuse fails loudly instead of answering wrongly."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from lifemsg.perf.compiled import CompiledQuery, CompiledQueryError
from mailboxes.models import Mailbox
from tests import factories

# The compiled path's own behaviour: with the fast path off there is none to test (test_fast_path_off).
pytestmark = [pytest.mark.django_db, pytest.mark.fast_path]


def _owned(*, owner_id: int, kind: str = Mailbox.Kind.PERSONAL):
    return Mailbox.objects.filter(owner_id=owner_id, kind=kind).select_related("owner").order_by("id")


def test_each_call_answers_for_its_own_values_like_the_queryset(org):
    owned = CompiledQuery(_owned)
    for user in (org.handler_a1, org.handler_a2, org.handler_b1):
        expected = list(_owned(owner_id=user.pk))
        got = owned.fetch(owner_id=user.pk)
        assert [m.pk for m in got] == [m.pk for m in expected]
        assert got[0].owner == user  # select_related filled in
    assert owned.fetch(owner_id=987654) == []


def test_a_compiled_shape_is_built_once_and_then_runs_one_query_without_building(org):
    built = []

    def build(**kwargs):
        built.append(kwargs)
        return _owned(**kwargs)

    owned = CompiledQuery(build)
    owned.fetch(owner_id=org.handler_a1.pk)
    with CaptureQueriesContext(connection) as queries:
        rows = owned.fetch(owner_id=org.handler_b1.pk)
    assert len(built) == 1
    assert len(queries) == 1
    assert str(org.handler_b1.pk) in queries[0]["sql"]  # the real value, not the stand-in
    with CaptureQueriesContext(connection):
        assert rows[0].owner.pk == org.handler_b1.pk  # no query for the joined owner


def test_shape_changes_the_sql_and_each_shape_is_kept_apart(org):
    owned = CompiledQuery(_owned)
    personal_box = owned.fetch({"kind": Mailbox.Kind.PERSONAL}, owner_id=org.handler_a1.pk)
    group_boxes = owned.fetch({"kind": Mailbox.Kind.GROUP}, owner_id=org.handler_a1.pk)
    assert [m.kind for m in personal_box] == [Mailbox.Kind.PERSONAL]
    assert group_boxes == []


def test_an_empty_in_list_selects_nothing():
    def build(*, ids, owner_id):
        return Mailbox.objects.filter(pk__in=ids, owner_id=owner_id)

    assert CompiledQuery(build).fetch({"ids": ()}, owner_id=1) == []


def test_a_value_django_transforms_is_refused_when_compiled(org):
    def build(*, name):
        return User.objects.filter(first_name__icontains=name)  # sent as %name%

    with pytest.raises(CompiledQueryError, match="did not reach the SQL"):
        CompiledQuery(build).fetch(name="Anna")


def test_a_value_that_is_not_used_is_refused():
    def build(*, owner_id, unit_id):
        return Mailbox.objects.filter(owner_id=owner_id)

    with pytest.raises(CompiledQueryError, match="unit_id"):
        CompiledQuery(build).fetch(owner_id=1, unit_id=2)


@pytest.mark.parametrize("value", [True, None, [1, 2]])
def test_booleans_none_and_lists_must_be_shape(value):
    def build(*, x):
        return Mailbox.objects.filter(Q(owner_id__in=x) if isinstance(x, list) else Q(owner_id=x))

    with pytest.raises(CompiledQueryError):
        CompiledQuery(build).fetch(x=value)


def test_datetimes_and_strings_are_values(org):
    def build(*, since, username):
        return User.objects.filter(date_joined__gte=since, username=username)

    joined = CompiledQuery(build)
    user = org.handler_a1
    assert joined.fetch(since=user.date_joined - timedelta(seconds=1), username=user.username) == [user]
    assert joined.fetch(since=timezone.now() + timedelta(days=1), username=user.username) == []


def test_values_list_unions_and_prefetch_work_as_for_the_queryset(org):
    def names(*, a, b):
        return (
            User.objects.filter(pk=a)
            .values_list("username", flat=True)
            .union(User.objects.filter(pk=b).values_list("username", flat=True))
        )

    got = CompiledQuery(names).fetch(a=org.handler_a1.pk, b=org.handler_b1.pk)
    assert sorted(got) == sorted([org.handler_a1.username, org.handler_b1.username])

    def with_groups(*, user_id):
        return User.objects.filter(pk=user_id).prefetch_related("groups")

    [user] = CompiledQuery(with_groups).fetch(user_id=org.handler_a1.pk)
    with CaptureQueriesContext(connection) as queries:
        groups = {g.name for g in user.groups.all()}
    assert len(queries) == 0
    assert groups == {g.name for g in org.handler_a1.groups.all()}


def test_every_run_converts_values_and_keeps_the_iterable_of_the_queryset(org):
    """The converters (a JSON column's, a datetime's) are worked out once per shape and applied on
    every run; a values_list stays tuples and a flat one values, run after run; nothing of one run's
    results leaks into the next."""
    first = AuditEvent.objects.create(action="a", target_type="t", target_id="1", after={"n": [1, 2]})
    second = AuditEvent.objects.create(action="a", target_type="t", target_id="2", after={"n": "två"})

    def events(*, pk):
        return AuditEvent.objects.filter(pk=pk)

    def pairs(*, pk):
        return AuditEvent.objects.filter(pk=pk).values_list("target_id", "after")

    def flat(*, pk):
        return AuditEvent.objects.filter(pk=pk).values_list("after", flat=True)

    compiled_events, compiled_pairs, compiled_flat = (
        CompiledQuery(events),
        CompiledQuery(pairs),
        CompiledQuery(flat),
    )
    for _ in range(2):
        for event in (first, second):
            [got] = compiled_events.fetch(pk=event.pk)
            assert got.after == event.after and got.at == event.at and got is not event
            assert compiled_pairs.fetch(pk=event.pk) == [(event.target_id, event.after)]
            assert compiled_flat.fetch(pk=event.pk) == [event.after]


def test_as_sql_gives_the_statement_fetch_runs_with_each_calls_values(org):
    owned = CompiledQuery(_owned)
    for user in (org.handler_a1, org.handler_b1):
        sql, params = owned.as_sql(owner_id=user.pk)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        assert [row[0] for row in rows] == [m.pk for m in owned.fetch(owner_id=user.pk)]
    assert CompiledQuery(lambda **kw: Mailbox.objects.filter(pk__in=[])).as_sql() is None


def test_only_the_latest_shapes_are_kept():
    owned = CompiledQuery(_owned, max_shapes=2)
    for kind in (Mailbox.Kind.PERSONAL, Mailbox.Kind.GROUP, Mailbox.Kind.PERSONAL):
        owned.fetch({"kind": kind}, owner_id=1)
    assert len(owned._compiled) == 2


@pytest.mark.django_db(transaction=True)
def test_another_thread_runs_the_compiled_query_on_its_own_connection():
    owner = factories.staff()
    owned = CompiledQuery(_owned)
    owned.fetch(owner_id=owner.pk)  # compiled here, on this thread's connection
    found, used = [], []

    def other():
        try:
            found.extend(owned.fetch(owner_id=owner.pk))
            used.append(connections["default"])
        finally:
            connections.close_all()

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert [m.owner_id for m in found] == [owner.pk]
    assert used and used[0] is not connections["default"]
