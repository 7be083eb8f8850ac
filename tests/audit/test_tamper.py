"""A log that cannot be erased from inside (issue 20, part 2).

The attack that worked before: as the application's own database role, write a retention anchor
covering today, switch the retention setting on in the transaction, delete the recent entries; the
chain then verified from the forged anchor. And a database writer could re-hash a changed chain
(plain SHA-256). Now the database refuses both steps, and what a superuser who switches the guards
off can still do is found by verify_access_log (entries and anchors are signed with a key the
database does not have)."""

import hashlib
import os
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.chain import entry_payload, sign_anchor
from audit.models import AccessLogEntry, AccessLogPruning, AppendOnlyError, AuditEvent
from audit.retention import access_log_prune
from audit.services import access_log_verify, audit_event_record
from tests import factories

from .conftest import read_thread
from .database import retention_switch_on, superuser

DAYS = 5 * 365


def _sql(statement: str, params=()):
    # A savepoint, so the refused statement does not poison the test's transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def _reads(org, case, n):
    return [read_thread(org.handler_a1, case) for _ in range(n)]


def _old_reads(org, case, monkeypatch, n):
    entries = []
    for i in range(n):
        when = timezone.now() - timedelta(days=DAYS + 30 - i)
        monkeypatch.setattr(timezone, "now", lambda when=when: when)
        entries.append(read_thread(org.handler_a1, case))
        monkeypatch.undo()
    return entries


def _forged_anchor_sql(through):
    now = timezone.now()
    return (
        "INSERT INTO audit_accesslogpruning "
        "(at, cutoff, first_seq, through_seq, through_hash, deleted_count, through_at) "
        "VALUES (%s, %s, 1, %s, %s, %s, %s)",
        [now, now, through.seq, through.entry_hash, through.seq, through.at],
    )


@pytest.mark.django_db
def test_the_reported_deletion_fails_in_the_database(org, case_a):
    entries = _reads(org, case_a, 3)
    with pytest.raises(DatabaseError, match="retention period"):
        _sql(*_forged_anchor_sql(entries[-1]))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        retention_switch_on(cur)
        cur.execute("DELETE FROM audit_accesslogentry")
    assert AccessLogEntry.objects.count() == 3
    assert access_log_verify().ok


@pytest.mark.postgres_only(reason="the audit_access_log_prune SQL function")
@pytest.mark.django_db
def test_the_databases_prune_function_removes_nothing_inside_the_period(org, case_a, monkeypatch):
    old = _old_reads(org, case_a, monkeypatch, 2)
    young = _reads(org, case_a, 2)
    with pytest.raises(DatabaseError, match="retention period"):
        _sql(
            "SELECT audit_access_log_prune(1, %s, %s, %s, now(), 'x')",
            [young[-1].seq, young[-1].entry_hash, young[-1].at],
        )
    # Nor a run that starts past the period and reaches into it.
    with pytest.raises(DatabaseError, match="retention period"):
        _sql(
            "SELECT audit_access_log_prune(1, %s, %s, %s, now(), 'x')",
            [young[0].seq, young[0].entry_hash, young[0].at],
        )
    assert AccessLogEntry.objects.count() == 4
    assert access_log_prune().deleted == 2
    assert [e.seq for e in AccessLogEntry.objects.order_by("seq")] == [old[-1].seq + 1, old[-1].seq + 2]
    assert access_log_verify().ok


@pytest.mark.django_db
def test_a_superuser_deleting_recent_entries_behind_a_forged_anchor_is_found(org, case_a):
    entries = _reads(org, case_a, 4)
    assert access_log_verify().ok
    superuser(
        _forged_anchor_sql(entries[1]),
        ("DELETE FROM audit_accesslogentry WHERE seq <= %s", [entries[1].seq]),
    )
    result = access_log_verify()
    assert not result.ok
    assert "anchor" in result.problem and "not signed" in result.problem
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_access_log")


@pytest.mark.django_db
def test_an_anchor_signed_for_other_entries_does_not_cover_a_deletion(org, case_a, monkeypatch):
    entries = _reads(org, case_a, 3)
    # A signature retention made for a different prefix, copied onto the forged anchor.
    mac = sign_anchor(
        first_seq=1, through_seq=1, through_hash=entries[0].entry_hash, through_at=entries[0].at
    )
    statement, params = _forged_anchor_sql(entries[1])
    superuser(
        (statement.replace("through_at)", "through_at, mac)").replace("%s)", "%s, %s)"), [*params, mac]),
        ("DELETE FROM audit_accesslogentry WHERE seq <= %s", [entries[1].seq]),
    )
    result = access_log_verify()
    assert not result.ok and "does not match its signature" in result.problem


@pytest.mark.django_db
def test_a_deleted_recent_entry_is_found(org, case_a):
    _reads(org, case_a, 4)
    superuser(("DELETE FROM audit_accesslogentry WHERE seq = 3", []))
    result = access_log_verify()
    assert not result.ok and result.first_bad_seq == 3


@pytest.mark.django_db
def test_a_recent_entry_changed_and_rehashed_without_the_key_is_found(org, case_a):
    """SHA-256 over the changed entry and every one after it, and the head: what verified before."""
    _reads(org, case_a, 4)
    changes = []
    prev = AccessLogEntry.objects.get(seq=2).entry_hash
    for entry in AccessLogEntry.objects.filter(seq__gte=3).order_by("seq"):
        if entry.seq == 3:
            entry.user_id = org.handler_a2.pk
        entry.prev_hash = prev
        prev = hashlib.sha256((prev + entry_payload(entry)).encode()).hexdigest()
        changes.append(
            (
                "UPDATE audit_accesslogentry SET user_id = %s, prev_hash = %s, entry_hash = %s, "
                "hmac_key_id = NULL WHERE seq = %s",
                [entry.user_id, entry.prev_hash, prev, entry.seq],
            )
        )
    changes.append(("UPDATE audit_accessloghead SET last_hash = %s", [prev]))
    superuser(*changes)
    result = access_log_verify()
    assert not result.ok and result.first_bad_seq == 3
    assert "not signed" in result.problem


@pytest.mark.django_db
def test_after_pruning_past_the_period_the_chain_still_verifies(org, case_a, monkeypatch):
    _old_reads(org, case_a, monkeypatch, 3)
    _reads(org, case_a, 2)
    assert access_log_prune().deleted == 3
    anchor = AccessLogPruning.objects.get()
    assert anchor.mac and anchor.through_at is not None
    read_thread(org.handler_a1, case_a)
    assert access_log_verify().ok
    call_command("verify_access_log")


@pytest.mark.django_db
def test_entries_from_a_rotated_key_verify_while_the_old_key_is_kept(org, case_a, settings):
    settings.ACCESS_LOG_HMAC_KEY = "first-key-of-the-access-log-0001"
    _reads(org, case_a, 2)
    settings.ACCESS_LOG_HMAC_KEY = "second-key-of-the-access-log-002"
    settings.ACCESS_LOG_HMAC_OLD_KEYS = ["first-key-of-the-access-log-0001"]
    _reads(org, case_a, 2)
    assert AccessLogEntry.objects.values("hmac_key_id").distinct().count() == 2
    assert access_log_verify().ok
    settings.ACCESS_LOG_HMAC_OLD_KEYS = []
    result = access_log_verify()
    assert not result.ok and result.first_bad_seq == 1 and "does not have" in result.problem


@pytest.mark.django_db
def test_unkeyed_entries_verify_only_up_to_the_pinned_seq(org, case_a, settings):
    """Entries from before the keyed chain: SHA-256, accepted up to ACCESS_LOG_UNKEYED_THROUGH_SEQ."""
    entries = _reads(org, case_a, 3)
    prev = "0" * 64
    changes = []
    for entry in entries[:2]:
        entry.prev_hash = prev
        prev = hashlib.sha256((prev + entry_payload(entry)).encode()).hexdigest()
        changes.append(
            (
                "UPDATE audit_accesslogentry SET prev_hash = %s, entry_hash = %s, hmac_key_id = NULL "
                "WHERE seq = %s",
                [entry.prev_hash, prev, entry.seq],
            )
        )
    entries[2].prev_hash = prev
    from audit.chain import sign_entry

    sign_entry(entries[2])
    changes.append(
        (
            "UPDATE audit_accesslogentry SET prev_hash = %s, entry_hash = %s WHERE seq = 3",
            [prev, entries[2].entry_hash],
        )
    )
    changes.append(("UPDATE audit_accessloghead SET last_hash = %s", [entries[2].entry_hash]))
    superuser(*changes)
    assert access_log_verify().first_bad_seq == 1
    settings.ACCESS_LOG_UNKEYED_THROUGH_SEQ = 1
    assert access_log_verify().first_bad_seq == 2
    settings.ACCESS_LOG_UNKEYED_THROUGH_SEQ = 2
    assert access_log_verify().ok


# --- the change log ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_or_deleted(org):
    event = audit_event_record(actor=org.admin, action="test.change", target=org.handler_a1)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.change"


# --- the application's own database role ---------------------------------------------------------


@pytest.fixture
def app_role(transactional_db):
    """A plain LOGIN role (not a superuser, not the owner), granted what the application gets."""
    name = f"lifemsg_test_app_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {name}")
        cursor.execute(f"CREATE ROLE {name} LOGIN")
    call_command("grant_app_role", name)
    settings = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings["NAME"],
        user=name,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        autocommit=True,
    )
    yield conn
    conn.close()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {name}")
        cursor.execute(f"DROP ROLE {name}")


def _as_app(conn, statement, params=()):
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


@pytest.mark.postgres_only(reason="database roles and their privileges")
def test_the_application_role_cannot_erase_the_log(app_role, org, case_a, monkeypatch):
    old = _old_reads(org, case_a, monkeypatch, 2)
    young = _reads(org, case_a, 2)
    event = audit_event_record(actor=org.admin, action="test.change", target=org.handler_a1)
    denied = psycopg.errors.InsufficientPrivilege
    for statement, params in (
        _forged_anchor_sql(young[-1]),
        ("SET LOCAL lifemsg.access_log_retention = 'on'; DELETE FROM audit_accesslogentry", []),
        ("UPDATE audit_accesslogentry SET detail = '{}' WHERE seq = %s", [young[0].seq]),
        ("TRUNCATE audit_accesslogentry CASCADE", []),
        ("ALTER TABLE audit_accesslogentry DISABLE TRIGGER USER", []),
        ("UPDATE audit_retention_floor SET access_log_days = 1", []),
        ("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk]),
        ("DELETE FROM audit_auditevent WHERE id = %s", [event.pk]),
        (
            "SELECT audit_access_log_prune(1, %s, %s, %s, now(), 'x')",
            [young[-1].seq, young[-1].entry_hash, young[-1].at],
        ),
    ):
        with pytest.raises(denied):
            _as_app(app_role, statement, params)
    assert AccessLogEntry.objects.count() == 4

    # What it may do: append as usual, and ask the database to prune what is past the period.
    user_id = factories.staff(username="reader").pk
    assert _as_app(app_role, "SELECT count(*) FROM audit_accesslogentry")[0][0] == 4
    _as_app(
        app_role,
        "INSERT INTO audit_auditevent (at, actor_id, action, target_type, target_id, target_repr, reason) "
        "VALUES (now(), %s, 'x', 'y', '1', '', '')",
        [user_id],
    )
    mac = sign_anchor(
        first_seq=1, through_seq=old[-1].seq, through_hash=old[-1].entry_hash, through_at=old[-1].at
    )
    removed = _as_app(
        app_role,
        "SELECT audit_access_log_prune(1, %s, %s, %s, now(), %s)",
        [old[-1].seq, old[-1].entry_hash, old[-1].at, mac],
    )
    assert removed == [(2,)]
    assert access_log_verify().ok


@pytest.mark.postgres_only(reason="database roles (grant_app_role)")
@pytest.mark.django_db
def test_grant_app_role_refuses_a_superuser_or_the_owner():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (me,) = cursor.fetchone()
    with pytest.raises(CommandError, match="superuser or the role running this command"):
        call_command("grant_app_role", me)
    with pytest.raises(CommandError, match="no role"):
        call_command("grant_app_role", "lifemsg_no_such_role")


@pytest.mark.django_db
def test_retention_never_removes_what_the_database_still_keeps(org, case_a, monkeypatch, settings):
    """ACCESS_LOG_RETENTION_DAYS lowered without telling the database: it keeps its own period."""
    _old_reads(org, case_a, monkeypatch, 2)
    settings.ACCESS_LOG_RETENTION_DAYS = 1
    _reads(org, case_a, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_log_days FROM audit_retention_floor")
        assert cursor.fetchone()[0] == DAYS
    result = access_log_prune(now=timezone.now() + timedelta(days=2))
    assert result.deleted == 2 and AccessLogEntry.objects.count() == 1
    assert access_log_verify().ok
