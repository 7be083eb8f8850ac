"""Access-log retention removes only a verified prefix older than the period, keeps an anchor so the
rest still verifies, and writes what it did to the audit log."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AccessLogEntry, AccessLogPruning, AuditEvent
from audit.retention import access_log_prune
from audit.services import access_log_verify

from .conftest import read_thread
from .database import retention_switch_on, superuser

pytestmark = pytest.mark.django_db

DAYS = settings.ACCESS_LOG_RETENTION_DAYS
ENTRIES = ("audit_accesslogentry",)


def _read_at(monkeypatch, when, user, case):
    monkeypatch.setattr(timezone, "now", lambda: when)
    entry = read_thread(user, case)
    monkeypatch.undo()
    return entry


@pytest.fixture
def history(org, case_a, monkeypatch):
    """Three reads past the retention period, then two inside it."""
    now = timezone.now()
    old = [
        _read_at(monkeypatch, now - timedelta(days=DAYS + 30 - i), org.handler_a1, case_a) for i in range(3)
    ]
    young = [_read_at(monkeypatch, now - timedelta(days=10 - i), org.handler_a2, case_a) for i in range(2)]
    return old, young


def test_retention_default_is_five_years():
    assert DAYS == 5 * 365


def test_retention_removes_only_entries_past_the_period_and_the_rest_still_verifies(history):
    old, young = history
    result = access_log_prune()
    assert result.deleted == 3
    assert list(AccessLogEntry.objects.order_by("seq").values_list("seq", flat=True)) == [4, 5]
    anchor = AccessLogPruning.objects.get()
    assert (anchor.first_seq, anchor.through_seq, anchor.through_hash) == (1, 3, old[-1].entry_hash)
    assert access_log_verify().ok


def test_retention_writes_what_it_did_to_the_audit_log(history):
    access_log_prune()
    event = AuditEvent.objects.get(action="retention.access_log")
    assert event.after["deleted"] == 3
    assert event.after["through_seq"] == 3
    assert event.after["retention_days"] == DAYS


def test_a_second_run_removes_nothing(history):
    access_log_prune()
    result = access_log_prune()
    assert result.deleted == 0
    assert AccessLogPruning.objects.count() == 1
    assert AccessLogEntry.objects.count() == 2


def test_the_chain_continues_from_the_anchor_after_retention(org, case_a, history):
    access_log_prune()
    read_thread(org.handler_a1, case_a)
    assert access_log_verify().ok
    out = StringIO()
    call_command("verify_access_log", stdout=out)
    assert "anchored after #3" in out.getvalue()


def test_nothing_after_the_first_entry_inside_the_period_is_removed(org, case_a, history, monkeypatch):
    # The clock stepped back: an entry stamped past the period comes after young ones.
    _read_at(monkeypatch, timezone.now() - timedelta(days=DAYS + 100), org.handler_a1, case_a)
    access_log_prune()
    assert list(AccessLogEntry.objects.order_by("seq").values_list("seq", flat=True)) == [4, 5, 6]


def test_retention_refuses_to_remove_a_tampered_prefix(history):
    superuser(("UPDATE audit_accesslogentry SET object_type = 'x' WHERE seq = 2", []), tables=ENTRIES)
    result = access_log_prune()
    assert result.deleted == 0
    assert result.refused.startswith("#2")
    assert AccessLogEntry.objects.count() == 5
    assert AuditEvent.objects.filter(action="retention.access_log_refused").exists()


def test_rows_inside_the_period_still_cannot_be_deleted_after_retention(history):
    access_log_prune()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        retention_switch_on(cursor)
        cursor.execute("DELETE FROM audit_accesslogentry")
    assert AccessLogEntry.objects.count() == 2


def test_retention_command_lists_the_prefix_for_approval_and_removes_nothing(history):
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "Access log: 3 entries (#1–#3) listed for removal." in out.getvalue()
    assert "proposed; approve or cancel it at /administration/gallring/korningar/" in out.getvalue()
    assert AccessLogEntry.objects.count() == 5
    assert not AccessLogPruning.objects.exists()


def test_retention_command_dry_run_counts_and_removes_nothing(history):
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "Access log: 3 entries (#1–#3) listed for removal." in out.getvalue()
    assert "Dry run: no run proposed, nothing removed." in out.getvalue()
    assert AccessLogEntry.objects.count() == 5
    assert not AccessLogPruning.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="retention.").exists()


def test_beat_task_is_registered_under_the_scheduled_name_and_verifies_but_removes_nothing(history):
    """The nightly task checks the chain and exports its head; entries past the period go only in an
    approved retention run (tests/retention/test_access_log_kind.py)."""
    from lifemsg.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "audit.retention"
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    task = app.tasks["audit.retention"]
    head = history[1][-1]
    result = task.run()
    # Upload retention runs in the same task (test_upload_retention.py): nothing to do here.
    assert result.pop("uploads") == 0
    assert result.pop("uploads_cutoff")
    assert result == {"access_log_chain_ok": True, "access_log_head": f"5:{head.entry_hash}"}
    assert AccessLogEntry.objects.count() == 5


def test_nightly_run_records_a_broken_chain_in_the_audit_log(org, case_a):
    read_thread(org.handler_a1, case_a)
    read_thread(org.handler_a1, case_a)
    superuser(("UPDATE audit_accesslogentry SET route = 'api' WHERE seq = 2", []), tables=ENTRIES)
    from audit.tasks import retention

    assert retention.run()["access_log_chain_ok"] is False
    event = AuditEvent.objects.get(action="retention.access_log_chain_broken")
    assert event.after["first_bad_seq"] == 2
