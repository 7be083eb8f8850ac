"""The access log's guarantees: complete entries, one hash chain, append-only in the ORM and in the
database, verifiable, and a read whose entry cannot be written does not happen."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from accounts import roles
from audit import services
from audit.models import AccessLogEntry, AccessLogHead, AccessLogPruning, AppendOnlyError
from audit.services import AccessLogError, access_log_verify
from tests import factories

from .conftest import read_thread
from .database import retention_switch_on, superuser, triggers_off

pytestmark = pytest.mark.django_db


def _sql(statement: str, params=()):
    # A savepoint, so the refused statement does not poison the test's transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_entry_names_the_citizen_case_unit_and_the_readers_units_and_role(org, case_a):
    entry = read_thread(org.handler_a1, case_a)
    assert entry.citizen_id == case_a.citizen.user_id
    assert entry.case_id == case_a.pk
    assert entry.unit_id == org.unit_a.pk
    assert entry.user_units == org.unit_a.name
    assert entry.user_roles == roles.HANDLAGGARE
    assert entry.route == "own_mailbox"


def test_roles_read_earlier_in_the_request_are_the_ones_logged(org, case_a):
    """On a page the permission check has already read the user's groups (accounts.backends); the
    entry takes them from there, and they are the user's roles, not their other groups."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    org.handler_a1.groups.add(Group.objects.create(name="Nyhetsbrev"))
    org.handler_a1.groups.add(Group.objects.get(name=roles.LOGGRANSKARE))
    reader = get_user_model().objects.get(pk=org.handler_a1.pk)
    assert reader.has_perm("accounts.use_mailboxes")
    entry = read_thread(reader, case_a)
    assert entry.user_roles == ", ".join(sorted([roles.HANDLAGGARE, roles.LOGGRANSKARE]))
    assert entry.user_units == org.unit_a.name
    fresh = get_user_model().objects.get(pk=org.handler_a1.pk)  # no check first: read with the lock
    assert read_thread(fresh, case_a).user_roles == entry.user_roles


def test_the_readers_units_are_kept_as_they_were_at_the_time(org, case_a):
    from mailboxes.services import membership_remove

    entry = read_thread(org.handler_a1, case_a)
    membership_remove(unit=org.unit_a, user=org.handler_a1)
    entry.refresh_from_db()
    assert entry.user_units == org.unit_a.name


def test_entries_form_one_chain_that_verifies(org, case_a):
    first = read_thread(org.handler_a1, case_a)
    second = read_thread(org.handler_a2, case_a, route=AccessLogEntry.Route.GROUP_MAILBOX)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.entry_hash
    head = AccessLogHead.objects.get()
    assert (head.seq, head.last_hash) == (2, second.entry_hash)
    assert access_log_verify().ok


def test_entries_written_together_form_one_chain_under_one_head_advance(org, case_a):
    case_b = factories.case(
        citizen_obj=factories.citizen("Nils", "Berg"), eservice_obj=org.eservice_a, handler=org.handler_a1
    )
    rows = services.access_log_record_many(
        user=org.handler_a1,
        entries=[
            {"action": "search", "route": "own_mailbox", "object_type": "search", "thread_id": case.thread_id}
            for case in (case_a, case_b, case_a)
        ],
    )
    assert [row.seq for row in rows] == [1, 2, 3]
    assert [row.case_id for row in rows] == [case_a.pk, case_b.pk, case_a.pk]
    citizens = [case_a.citizen.user_id, case_b.citizen.user_id, case_a.citizen.user_id]
    assert [row.citizen_id for row in rows] == citizens
    assert rows[1].prev_hash == rows[0].entry_hash and rows[2].prev_hash == rows[1].entry_hash
    head = AccessLogHead.objects.get()
    assert (head.seq, head.last_hash) == (3, rows[2].entry_hash)
    assert access_log_verify().ok


def test_database_refuses_moving_the_head_past_entries_that_do_not_exist(org, case_a):
    entry = read_thread(org.handler_a1, case_a)
    with pytest.raises(DatabaseError):
        _sql("UPDATE audit_accessloghead SET seq = 3, last_hash = %s", [entry.entry_hash])
    with pytest.raises(DatabaseError):
        _sql("UPDATE audit_accessloghead SET seq = 1, last_hash = %s", ["f" * 64])
    assert AccessLogHead.objects.get().seq == 1


def test_unknown_action_or_route_is_refused(org, case_a):
    with pytest.raises(ValueError):
        read_thread(org.handler_a1, case_a, action="peek")
    with pytest.raises(ValueError):
        read_thread(org.handler_a1, case_a, route="backdoor")
    assert not AccessLogEntry.objects.exists()


def test_orm_refuses_to_change_or_delete_entries(org, case_a):
    entry = read_thread(org.handler_a1, case_a)
    with pytest.raises(AppendOnlyError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(action="export")
    with pytest.raises(AppendOnlyError):
        AccessLogEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    entry.action = "export"
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert AccessLogEntry.objects.get().action == "read_thread"


def test_database_refuses_update_of_an_entry_from_sql(org, case_a):
    entry = read_thread(org.handler_a1, case_a)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("UPDATE audit_accesslogentry SET action = 'export' WHERE id = %s", [entry.pk])
    assert AccessLogEntry.objects.get().action == "read_thread"


def test_database_refuses_delete_of_an_entry_from_sql(org, case_a):
    entry = read_thread(org.handler_a1, case_a)
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM audit_accesslogentry WHERE id = %s", [entry.pk])
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_database_refuses_delete_even_with_the_retention_setting_but_no_anchor(org, case_a):
    read_thread(org.handler_a1, case_a)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        retention_switch_on(cursor)
        cursor.execute("DELETE FROM audit_accesslogentry")
    assert AccessLogEntry.objects.count() == 1


def test_database_refuses_rewinding_the_head_and_changing_anchors(org, case_a):
    read_thread(org.handler_a1, case_a)
    with pytest.raises(DatabaseError):
        _sql("UPDATE audit_accessloghead SET seq = 0, last_hash = %s", ["0" * 64])
    with pytest.raises(DatabaseError):
        _sql("DELETE FROM audit_accessloghead")
    with triggers_off("audit_accesslogpruning"):  # an anchor as a superuser could write one
        AccessLogPruning.objects.create(
            cutoff=case_a.created_at, first_seq=1, through_seq=0, through_hash="0" * 64, deleted_count=0
        )
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("UPDATE audit_accesslogpruning SET through_seq = 5")
    with pytest.raises(DatabaseError, match="append-only"):
        _sql("DELETE FROM audit_accesslogpruning")


def _tamper(statement: str, params=()):
    """What a database superuser could do: switch the triggers off, change rows, switch them on."""
    superuser((statement, params), tables=("audit_accesslogentry",))


def test_verify_command_reports_ok_for_an_intact_chain(org, case_a):
    for _ in range(3):
        read_thread(org.handler_a1, case_a)
    out = StringIO()
    call_command("verify_access_log", stdout=out)
    assert "OK: 3 entries" in out.getvalue()


def test_verify_command_finds_a_row_altered_by_a_superuser_who_disabled_the_trigger(org, case_a):
    for _ in range(4):
        read_thread(org.handler_a1, case_a)
    _tamper("UPDATE audit_accesslogentry SET user_id = %s WHERE seq = 3", [org.handler_a2.pk])
    with pytest.raises(CommandError, match="seq 3") as excinfo:
        call_command("verify_access_log")
    assert excinfo.value.returncode != 0


def test_verify_command_finds_a_row_removed_from_the_middle(org, case_a):
    for _ in range(4):
        read_thread(org.handler_a1, case_a)
    _tamper("DELETE FROM audit_accesslogentry WHERE seq = 2")
    with pytest.raises(CommandError, match="seq 2"):
        call_command("verify_access_log")


def test_verify_command_finds_removed_last_rows(org, case_a):
    for _ in range(4):
        read_thread(org.handler_a1, case_a)
    _tamper("DELETE FROM audit_accesslogentry WHERE seq >= 3")
    with pytest.raises(CommandError, match="seq 3"):
        call_command("verify_access_log")


def test_verify_command_exit_status_is_non_zero_from_the_shell(org, case_a):
    read_thread(org.handler_a1, case_a)
    read_thread(org.handler_a1, case_a)
    _tamper("UPDATE audit_accesslogentry SET detail = '{\"x\": 1}' WHERE seq = 1")
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as excinfo:
        ManagementUtility(["manage.py", "verify_access_log"]).execute()
    assert excinfo.value.code == 2


def test_a_log_write_that_fails_raises_and_leaves_nothing(org, case_a, monkeypatch):
    read_thread(org.handler_a1, case_a)
    first_hash = AccessLogEntry.objects.get().entry_hash
    # A real database failure: the unique index on entry_hash refuses a duplicate.
    monkeypatch.setattr(services, "sign_entry", lambda entry: setattr(entry, "entry_hash", first_hash))
    with pytest.raises(AccessLogError), transaction.atomic():
        read_thread(org.handler_a2, case_a)
    assert AccessLogEntry.objects.count() == 1
    assert AccessLogHead.objects.get().seq == 1


def test_a_log_write_that_fails_inside_a_caller_transaction_keeps_the_callers_transaction_usable(
    org, case_a, monkeypatch
):
    read_thread(org.handler_a1, case_a)
    first_hash = AccessLogEntry.objects.get().entry_hash
    monkeypatch.setattr(services, "sign_entry", lambda entry: setattr(entry, "entry_hash", first_hash))
    with transaction.atomic():
        with pytest.raises(AccessLogError):
            read_thread(org.handler_a2, case_a)
        # The caller can still answer with an error page from the same transaction.
        assert AccessLogEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    org = factories.Organisation.build()
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    errors = []

    def reader(user):
        try:
            for _ in range(8):
                read_thread(user, case)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reader, args=(u,)) for u in (org.handler_a1, org.handler_a2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert list(AccessLogEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 17))
    assert access_log_verify().ok


def test_no_admin_page_shows_or_changes_access_log_entries():
    from django.contrib import admin

    from audit.models import AccessLogHead as Head

    for model in (AccessLogEntry, AccessLogPruning, Head):
        assert model not in admin.site._registry


def test_a_thread_read_whose_log_entry_cannot_be_written_fails_and_shows_nothing(client, org, monkeypatch):
    from django.urls import reverse

    from absence.routing import route_message
    from eservices.services import citizen_message_send
    from mailboxes.models import MailboxThread
    from tests.conftest import login

    case = factories.case(eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan"))
    body = "Mitt nya kontonummer är 1234-5678."
    route_message(message_id=citizen_message_send(case=case, citizen_user=case.citizen.user, body=body).pk)
    taken = read_thread(org.handler_a1, case).entry_hash
    # A real database failure on the write: the unique index on entry_hash refuses a duplicate.
    monkeypatch.setattr(services, "sign_entry", lambda entry: setattr(entry, "entry_hash", taken))
    mailbox = org.unit_a.group_mailbox
    client.raise_request_exception = False
    login(client, org.handler_a2)
    response = client.get(reverse("mailboxes:thread", args=[mailbox.pk, case.thread_id]))
    assert response.status_code == 500
    page = response.content.decode()
    assert body not in page and case.thread.subject not in page and "Olle" not in page
    assert not AccessLogEntry.objects.filter(user=org.handler_a2).exists()
    # Nothing happened as a side effect of the refused read either.
    assert MailboxThread.objects.get(mailbox=mailbox, thread=case.thread).unread_count == 1
