"""Search that stays fast as the data grows (issue 25): Swedish stemming from the stored tsvector,
restriction to what the searcher may open, at most SEARCH_HIT_LIMIT hits listed and counted, and a
page whose queries do not grow with the hits."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from mailboxes.search import search_threads
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = pytest.mark.django_db


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Swedish full-text search runs on PostgreSQL")


def subjects(rows) -> set[str]:
    return {row.thread.subject for row in rows}


def test_swedish_stemming_finds_other_forms_of_a_word(org):
    needs_postgresql()
    internal_thread(
        org.handler_b1,
        [personal(org.handler_a1)],
        subject="Inkommet",
        body="Vi har fått era ansökningar och intygen.",
    )
    # None of these is a substring of the text: only the Swedish stemmer makes them hits.
    for query in ("ansökningen", "ansökningarna", "intyg"):
        assert subjects(search_threads(user=org.handler_a1, query=query)) == {"Inkommet"}, query
    assert subjects(search_threads(user=org.handler_a1, query="beslut")) == set()


def test_the_stored_vector_follows_an_edited_body(org):
    needs_postgresql()
    message = internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Rättat", body="Om resor")
    type(message).objects.filter(pk=message.pk).update(body="Om färdtjänsten")
    assert subjects(search_threads(user=org.handler_a1, query="färdtjänst")) == {"Rättat"}
    assert subjects(search_threads(user=org.handler_a1, query="resor")) == set()


def test_another_units_message_is_never_found(client, org):
    eservice_b = factories.eservice(org.unit_b)
    case = factories.case(eservice_obj=eservice_b, handler=org.handler_b1, subject="Hos enhet B")
    citizen_writes(case, body="Min överklagan gäller hemtjänsten.")
    internal_thread(org.handler_b1, [group(org.unit_b)], subject="B internt", body="överklagan")
    assert subjects(search_threads(user=org.handler_a1, query="överklagan")) == set()
    assert subjects(search_threads(user=org.handler_b1, query="överklagan")) == {"Hos enhet B", "B internt"}
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:search"), {"q": "överklagan"}).content.decode()
    assert "0 träffar" in page and "Hos enhet B" not in page and "B internt" not in page


def test_beyond_the_limit_the_page_says_there_are_more(client, org, monkeypatch):
    monkeypatch.setattr("mailboxes.search.SEARCH_HIT_LIMIT", 3)
    for i in range(4):
        internal_thread(org.handler_b1, [personal(org.handler_a1)], subject=f"Tolk {i}", body="tolkning")
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:search"), {"q": "tolk"}).content.decode()
    assert "Över 3 träffar" in page
    # The newest three are listed; the oldest is left for a narrower search.
    assert "Tolk 3" in page and "Tolk 1" in page and "Tolk 0" not in page
    monkeypatch.setattr("mailboxes.search.SEARCH_HIT_LIMIT", 4)
    page = client.get(reverse("mailboxes:search"), {"q": "tolk"}).content.decode()
    assert "4 träffar" in page and "Över" not in page and "Tolk 0" in page


def test_search_page_queries_do_not_grow_with_the_hits(client, org, django_assert_max_num_queries):
    def threads(count: int, start: int) -> None:
        for i in range(start, start + count):
            internal_thread(org.handler_b1, [personal(org.handler_a1)], subject=f"Möte {i}", body="mötet")

    login(client, org.handler_a1)
    url = reverse("mailboxes:search")
    threads(2, 0)
    client.get(url, {"q": "möte"})  # warm-up: per-user caches filled once
    with django_assert_max_num_queries(12) as few:
        assert "2 träffar" in client.get(url, {"q": "möte"}).content.decode()
    threads(38, 2)
    pages = []
    for number in ("1", "2"):
        with django_assert_max_num_queries(len(few.captured_queries)):
            pages.append(client.get(url, {"q": "möte", "sida": number}).content.decode())
    # The first page reads one page of hits (and one more): beyond, it says there are more.
    assert "Över 25 träffar" in pages[0] and "Sida 1<" in pages[0]
    assert "40 träffar" in pages[1] and "Sida 2 av 2" in pages[1]
