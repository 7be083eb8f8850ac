"""Log review pages: search by citizen, staff, unit, time, action; CSV export; the reviewer's own
searches logged; a read whose log entry cannot be written shows nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import services
from audit.models import AccessLogEntry
from tests import factories
from tests.conftest import login

from .conftest import read_thread

pytestmark = pytest.mark.django_db

Route = AccessLogEntry.Route


@pytest.fixture
def reads(org, case_a):
    """handler_a1 read case_a; handler_b1 (another unit) read it too; and someone read another case."""
    other = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2)
    read_thread(org.handler_a1, case_a)
    read_thread(org.handler_b1, case_a, route=Route.GROUP_MAILBOX)
    read_thread(org.handler_a2, other)
    return other


def _search(client, **data):
    response = client.post(reverse("audit:search"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"]), response["Location"]


def test_reviewer_searches_a_citizens_personnummer_and_sees_who_read(client, org, case_a, reads):
    login(client, org.log_reviewer)
    page, url = _search(client, personnummer=case_a.citizen.personnummer_formatted)
    body = page.content.decode()
    assert page.status_code == 200
    assert "2 poster" in body
    assert "Anna Andersson" in body and "Cilla Carlsson" in body
    assert "Bo Berg" not in body  # read another citizen's case
    assert case_a.reference in body
    # The personal identity number never goes into the URL (server logs, browser history).
    assert case_a.citizen.personnummer not in url
    assert f"citizen={case_a.citizen.user_id}" in url


def test_the_reviewers_search_is_itself_logged(client, org, case_a, reads):
    login(client, org.log_reviewer)
    _search(client, personnummer=case_a.citizen.personnummer)
    entry = AccessLogEntry.objects.filter(user=org.log_reviewer).get()
    assert entry.route == Route.LOG_REVIEW
    assert entry.action == AccessLogEntry.Action.SEARCH
    assert entry.citizen_id == case_a.citizen.user_id
    assert entry.detail["results"] == 2
    assert case_a.citizen.personnummer not in str(entry.detail)


def test_unknown_personnummer_gets_a_swedish_message_and_keeps_what_was_typed(client, org, reads):
    login(client, org.log_reviewer)
    typed = factories.personnummer(987)
    response = client.post(reverse("audit:search"), {"personnummer": typed, "staff": "anna"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ingen medborgare med detta personnummer finns registrerad" in body
    assert f'value="{typed}"' in body
    assert 'value="anna"' in body
    assert not AccessLogEntry.objects.filter(user=org.log_reviewer).exists()


def test_invalid_personnummer_is_refused_in_swedish(client, org):
    login(client, org.log_reviewer)
    body = client.post(reverse("audit:search"), {"personnummer": "12345"}).content.decode()
    assert "Ange ett giltigt svenskt personnummer" in body


def test_search_by_staff_member(client, org, case_a, reads):
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:search"), {"staff": "Cilla"}).content.decode()
    assert "1 post" in body and "Cilla Carlsson" in body


def test_search_by_unit_finds_reads_of_the_units_cases_and_by_its_members(client, org, case_a, reads):
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:search"), {"unit": org.unit_b.pk}).content.decode()
    # handler_b1 is the only member of unit B, and unit B has no cases.
    assert "1 post" in body and "Cilla Carlsson" in body


def test_search_by_action_and_time_range(client, org, case_a, reads, monkeypatch):
    old = timezone.now() - timedelta(days=40)
    monkeypatch.setattr(timezone, "now", lambda: old)
    read_thread(org.handler_a1, case_a)
    monkeypatch.undo()
    read_thread(org.handler_a1, case_a, action=AccessLogEntry.Action.PRINT)
    login(client, org.log_reviewer)
    assert "1 post" in client.get(reverse("audit:search"), {"action": "print"}).content.decode()
    assert "4 poster" in client.get(reverse("audit:search"), {"action": "read_thread"}).content.decode()
    today = timezone.localdate()
    recent = client.get(
        reverse("audit:search"),
        {
            "action": "read_thread",
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": today.isoformat(),
        },
    ).content.decode()
    assert "3 poster" in recent


def test_end_date_before_start_date_is_explained(client, org):
    login(client, org.log_reviewer)
    body = client.get(
        reverse("audit:search"), {"date_from": "2026-05-02", "date_to": "2026-05-01"}
    ).content.decode()
    assert "Slutdatumet måste vara samma dag som eller efter startdatumet" in body


def test_csv_export_holds_the_entries_and_is_logged(client, org, case_a, reads):
    login(client, org.log_reviewer)
    response = client.get(reverse("audit:export"), {"citizen": case_a.citizen.user_id})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Post nr;Tid;Användarnamn;Medarbetare")
    assert len(lines) == 3
    assert any("Anna Andersson" in line and case_a.citizen.personnummer_formatted in line for line in lines)
    export = AccessLogEntry.objects.get(user=org.log_reviewer)
    assert export.action == AccessLogEntry.Action.EXPORT
    assert export.citizen_id == case_a.citizen.user_id


def test_csv_cells_cannot_run_as_spreadsheet_formulas(client, org, case_a):
    sneaky = factories.staff(units=(org.unit_a,), first_name="=HYPERLINK(1)", last_name="X")
    read_thread(sneaky, case_a)
    login(client, org.log_reviewer)
    text = b"".join(client.get(reverse("audit:export")).streaming_content).decode()
    assert "'=HYPERLINK(1) X" in text


def test_a_search_whose_log_entry_cannot_be_written_shows_nothing(client, org, case_a, reads, monkeypatch):
    taken = AccessLogEntry.objects.order_by("seq").first().entry_hash
    monkeypatch.setattr(services, "sign_entry", lambda entry: setattr(entry, "entry_hash", taken))
    login(client, org.log_reviewer)
    response = client.get(reverse("audit:search"), {"citizen": case_a.citizen.user_id})
    body = response.content.decode()
    assert response.status_code == 503
    assert "Åtkomstloggen är inte tillgänglig" in body
    assert "Anna Andersson" not in body and case_a.reference not in body
    export = client.get(reverse("audit:export"), {"citizen": case_a.citizen.user_id})
    assert export.status_code == 503
    assert not AccessLogEntry.objects.filter(user=org.log_reviewer).exists()


@pytest.mark.parametrize("who", ["handler_a1", "manager_a", "admin", "superuser", "sysadmin"])
def test_staff_without_the_reviewer_role_get_403_on_every_log_page(client, org, who):
    login(client, getattr(org, who))
    for name in ("search", "export", "checks", "checks_export", "sample", "reviews", "events"):
        assert client.get(reverse(f"audit:{name}")).status_code == 403, name
    assert client.post(reverse("audit:review_record"), {}).status_code == 403


def test_search_query_count_does_not_grow_with_rows(client, org, case_a, django_assert_max_num_queries):
    login(client, org.log_reviewer)
    read_thread(org.handler_a1, case_a)
    url = reverse("audit:search")
    with django_assert_max_num_queries(20) as one:
        client.get(url, {"citizen": case_a.citizen.user_id})
    for _ in range(30):
        read_thread(org.handler_b1, case_a)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url, {"citizen": case_a.citizen.user_id})
