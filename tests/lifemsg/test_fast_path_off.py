"""LIFEMSG_FAST_PATH off: every part of lifemsg.perf steps aside and Django's own paths give the same
answers (the whole suite runs once more this way in CI: make test-nofast)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.functional import LazyObject

from accounts.models import User
from audit.models import AccessLogEntry
from audit.services import access_log_record_many
from lifemsg import perf
from lifemsg.perf.compiled import CompiledQuery
from lifemsg.perf.handoff import offer_session_user, take_session_user
from lifemsg.perf.inserts import insert_rows
from mailboxes.models import Mailbox
from tests.conftest import login

pytestmark = pytest.mark.django_db

off = override_settings(LIFEMSG_FAST_PATH=False)
on = override_settings(LIFEMSG_FAST_PATH=True)  # whatever the environment says (make test-nofast)


def _owned(*, owner_id: int):
    return Mailbox.objects.filter(owner_id=owner_id).select_related("owner").order_by("id")


def test_the_setting_turns_the_fast_path_and_its_postgresql_statements_off():
    with on:
        assert perf.enabled()
        assert perf.fast_sql() == (connection.vendor == "postgresql")
    with off:
        assert not perf.enabled()
        assert not perf.fast_sql()


def test_a_compiled_query_off_builds_and_runs_the_queryset_each_time_with_the_same_rows(org):
    built = []

    def build(**kwargs):
        built.append(kwargs)
        return _owned(**kwargs)

    owned = CompiledQuery(build)
    with on:
        fast = owned.fetch(owner_id=org.handler_a1.pk)
    with off:
        plain = owned.fetch(owner_id=org.handler_a1.pk)
        again = owned.fetch(owner_id=org.handler_b1.pk)
        statement = owned.as_sql(owner_id=org.handler_a1.pk)
    assert [m.pk for m in plain] == [m.pk for m in fast] == [m.pk for m in _owned(owner_id=org.handler_a1.pk)]
    assert [m.owner for m in again] == [org.handler_b1] * len(again)
    # Once compiled with stand-ins, then built with the real values on every call with the path off.
    a1, b1 = org.handler_a1.pk, org.handler_b1.pk
    assert built[1:] == [{"owner_id": a1}, {"owner_id": b1}, {"owner_id": a1}]
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert [row[0] for row in cursor.fetchall()] == [m.pk for m in fast]


def test_inserts_off_go_through_bulk_create_and_get_their_ids(org):
    last = AccessLogEntry.objects.order_by("-seq").first()
    seq = last.seq if last else 0
    with off, CaptureQueriesContext(connection) as queries:
        entries = access_log_record_many(user=org.handler_a1, entries=[_entry(), _entry()])
    assert all(entry.pk for entry in entries)
    stored = AccessLogEntry.objects.filter(pk__in=[e.pk for e in entries]).order_by("seq")
    assert [(e.seq, e.entry_hash) for e in stored] == [(e.seq, e.entry_hash) for e in entries]
    assert [e.seq for e in entries] == [seq + 1, seq + 2]
    # Django's bulk_create names the returned column with its table; the fast path's INSERT does not.
    table = AccessLogEntry._meta.db_table
    inserts = [q["sql"] for q in queries if q["sql"].startswith(f'INSERT INTO "{table}"')]
    assert len(inserts) == 1
    assert f'RETURNING "{table}"' in inserts[0]


def _entry() -> dict:
    return {
        "action": AccessLogEntry.Action.READ_THREAD,
        "route": AccessLogEntry.Route.OWN_MAILBOX,
        "object_type": "thread",
        "object_id": 1,
    }


def test_insert_rows_of_nothing_does_nothing():
    with CaptureQueriesContext(connection) as queries:
        insert_rows([])
    assert not queries


def test_the_session_hands_over_no_user_with_the_path_off(org):
    with off:
        offer_session_user(org.handler_a1)
        assert take_session_user(org.handler_a1.pk) is None
    with on:
        offer_session_user(org.handler_a1)
        assert take_session_user(org.handler_a1.pk)[0] == org.handler_a1


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_a_staff_page_shows_the_same_with_the_path_on_or_off(client, org, fast):
    login(client, org.handler_a1)
    with override_settings(LIFEMSG_FAST_PATH=fast):
        response = client.get(reverse("mailboxes:index"))
    assert response.status_code == 200
    assert isinstance(response.wsgi_request.user, LazyObject) is not fast
    assert response.wsgi_request.user == org.handler_a1
    assert User.objects.get(pk=org.handler_a1.pk).get_full_name() in response.content.decode()
