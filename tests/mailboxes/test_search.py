"""Search over the mailboxes the user may open: Swedish full-text search on PostgreSQL, and never a
thread the user could not open."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AccessLogEntry
from mailboxes.search import search_threads
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = pytest.mark.django_db


def subjects(rows) -> set[str]:
    return {row.thread.subject for row in rows}


def test_swedish_full_text_search_finds_inflected_forms(org):
    if connection.vendor != "postgresql":
        pytest.skip("full-text search runs on PostgreSQL")
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Intyg", body="Vi väntar på läkare.")
    # "läkaren" is not a substring of "läkare": only the Swedish stemmer makes this a hit.
    assert subjects(search_threads(user=org.handler_a1, query="läkaren")) == {"Intyg"}
    assert subjects(search_threads(user=org.handler_a1, query="tandläkare")) == set()


def test_search_matches_subject_counterpart_and_personnummer(org):
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Sixten", "Sökbar", number="197507229834"),
        subject="Ansökan om bostad",
    )
    citizen_writes(case, body="Hej")
    for query in ("bostad", "Sökbar", "19750722-9834", "197507229834"):
        assert subjects(search_threads(user=org.handler_a1, query=query)) == {"Ansökan om bostad"}, query


def test_search_never_returns_what_the_user_could_not_open(org):
    text = "Känsligt om familjen"
    internal_thread(org.handler_b1, [group(org.unit_b)], subject="B:s hemlighet", body=text)
    internal_thread(org.handler_b1, [personal(org.handler_a2)], subject="Till Bo", body=text)
    internal_thread(org.handler_b1, [group(org.unit_a)], subject="Till A", body=text)
    assert subjects(search_threads(user=org.handler_a1, query="familjen")) == {"Till A"}
    # Each hit is a (mailbox, thread) summary of a mailbox the searcher may open.
    allowed = {personal(org.handler_a2).pk, group(org.unit_a).pk}
    rows = list(search_threads(user=org.handler_a2, query="familjen"))
    assert {row.mailbox_id for row in rows} <= allowed
    assert subjects(rows) == {"Till Bo", "Till A"}


def test_search_page_logs_hits_in_citizen_threads(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ekonomiskt bistånd")
    citizen_writes(case, body="Jag har fått avslag på min ansökan.")
    internal_thread(org.handler_a2, [personal(org.handler_a1)], subject="Om avslag", body="avslag diskuteras")
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:search"), {"q": "avslag"}).content.decode()
    assert "Ekonomiskt bistånd" in page and "Om avslag" in page
    assert "2 träffar" in page
    assert "Jag har fått avslag" not in page  # no citizen text in the list
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.SEARCH)
    assert entry.detail["query"] == "avslag"
    assert [r["thread"] for r in entry.detail["results"]] == [case.thread_id]


def test_search_page_asks_for_two_characters(client, org):
    login(client, org.handler_a1)
    response = client.get(reverse("mailboxes:search"), {"q": "a"})
    body = response.content.decode()
    assert "Säkerställ att detta värde åtminstone har 2 tecken" in body
    assert 'id="results-title"' not in body


@pytest.mark.fast_path
def test_search_hits_in_many_citizens_threads_log_one_entry_each_in_fixed_queries(
    client, org, django_assert_max_num_queries
):
    """Each citizen whose thread a result page shows gets their own entry (their log extract names the
    search), the chain still verifies, and the page's queries do not grow with the citizens on it."""
    from audit.services import access_log_verify

    def hits(count: int) -> list:
        cases = [
            factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject=f"Bostadsstöd {i}")
            for i in range(count)
        ]
        for case in cases:
            citizen_writes(case, body="Fråga om bostadstillägg")
        return cases

    login(client, org.handler_a1)
    url = reverse("mailboxes:search")
    few = hits(2)
    client.get(url, {"q": "bostadsstöd"})  # warm-up: per-user caches filled once
    with django_assert_max_num_queries(12) as few_ctx:
        assert client.get(url, {"q": "bostadsstöd"}).status_code == 200
    many = few + hits(8)
    with django_assert_max_num_queries(len(few_ctx.captured_queries)):
        page = client.get(url, {"q": "bostadsstöd"}).content.decode()
    assert "10 träffar" in page
    logged = AccessLogEntry.objects.filter(action=AccessLogEntry.Action.SEARCH).order_by("-seq")[:10]
    assert sorted(entry.citizen_id for entry in logged) == sorted(case.citizen.user_id for case in many)
    assert {entry.case_id for entry in logged} == {case.pk for case in many}
    assert access_log_verify().ok
