"""The flush that ends each transactional test (tests/quick_flush.py) empties every table, the
append-only audit tables included, as Django's own TRUNCATE does, and puts back what the migrations
wrote (content types, permissions, the roles), which the next test needs."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from audit.models import AccessLogEntry
from audit.services import access_log_record, audit_event_record
from tests import factories
from tests.mailboxes.conftest import citizen_writes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def _rows() -> dict[str, int]:
    counts = {model._meta.db_table: model._base_manager.count() for model in apps.get_models()}
    return {table: count for table, count in counts.items() if count}


def test_the_flush_after_a_transactional_test_leaves_the_tables_as_the_migrations_left_them():
    migrated = _rows()
    assert {"auth_group", "auth_permission", "django_content_type"} <= set(migrated)
    roles = sorted(Group.objects.values_list("name", "permissions__codename"), key=str)
    org = factories.Organisation.build()
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case)
    audit_event_record(actor=org.admin, action="test.change", target=org.handler_a1)
    access_log_record(
        user=org.handler_a1,
        action=AccessLogEntry.Action.READ_THREAD,
        route=AccessLogEntry.Route.OWN_MAILBOX,
        object_type="thread",
        object_id=case.thread_id,
        thread_id=case.thread_id,
    )
    assert {"audit_auditevent", "audit_accesslogentry", "mailboxes_message"} <= set(_rows())
    # As TransactionTestCase._fixture_teardown calls it.
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False, inhibit_post_migrate=True)
    assert _rows() == migrated
    assert sorted(Group.objects.values_list("name", "permissions__codename"), key=str) == roles
