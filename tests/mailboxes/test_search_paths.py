"""Search's two paths (mailboxes.search: the walk of the user's mailboxes newest first, for a word
in many messages, and the look-up from the indexes, for a word in few) find exactly the hits of the
reference definition, in its order, whatever the word, the searcher and the need-to-know cut-off;
PostgreSQL's statistics choose the path; the page counts the hits up to SEARCH_COUNTED and beyond
says "more than" and pages on."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from absence.models import Absence
from absence.services import absence_create, absence_end
from eservices.services import citizen_protected_identity_set
from mailboxes.models import Message
from mailboxes.search import Search
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_reply, internal_thread, personal

pytestmark = pytest.mark.django_db

PATHS = ("walk", "index")


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the index path and the statistics are PostgreSQL's")


@pytest.fixture
def world(org):
    """Threads of every kind a hit can come from, and one cut off by need to know."""
    sick = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Greta", "Flyttsson", number="197507229834"),
        subject="Ansökan om bostadsbidrag",
    )
    citizen_writes(sick, body="Jag undrar över mitt bostadsbidrag.")
    absence = absence_create(
        handler=org.handler_a1,
        actor=org.admin,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=group(org.unit_a),
    )
    citizen_writes(sick, body="Jag är sjuk och behöver hjälp med hemtjänsten.")
    absence_end(absence=absence, actor=org.admin)
    # Written after the sick call ended: the group's members no longer read it (guarantee 9).
    citizen_writes(sick, body="Nu gäller det flyttbidrag och hemtjänsten.")
    hidden = factories.case(
        eservice_obj=org.eservice_a,
        citizen_obj=factories.citizen("Sune", "Skyddad"),
        subject="Skyddat ärende om hemtjänst",
    )
    citizen_writes(hidden, body="Hemtjänsten kommer inte.")
    citizen_protected_identity_set(citizen=hidden.citizen, protected=True, actor=org.admin, reason="Beslut")
    first = internal_thread(
        org.handler_b1, [personal(org.handler_a1), group(org.unit_a)], subject="Rutin", body="Om hemtjänsten"
    )
    internal_reply(first.thread, org.handler_a1, personal(org.handler_a1), [personal(org.handler_b1)])
    internal_thread(org.handler_b1, [group(org.unit_b)], subject="Hos B", body="Hemtjänst och flyttbidrag")
    internal_thread(org.handler_a2, [personal(org.handler_a1)], subject="Flyttbidrag i rutinen", body="Läs")
    return org


QUERIES = (
    "hemtjänst",  # in many threads, some cut off, one protected
    "flyttbidrag",  # after the cut-off for the group, in a subject, in another unit
    "bostadsbidrag",
    "Flyttsson",  # a counterpart's name
    "19750722-9834",  # a personal identity number
    "rutin",
    "saknas helt",
    "om",  # too short for trigrams
)


@pytest.mark.parametrize("query", QUERIES)
def test_both_paths_find_the_reference_hits_in_its_order(world, query):
    needs_postgresql()
    for user in (world.handler_a1, world.handler_a2, world.handler_b1, world.manager_a):
        search = Search(user=user, query=query)
        reference = list(search.reference().values_list("pk", flat=True))
        for path in PATHS:
            assert search.ids(100, path=path) == reference, (user, query, path)
            assert search.ids(2, path=path) == reference[:2], (user, query, path)


def test_the_cut_off_holds_on_both_paths(world):
    needs_postgresql()
    search = Search(user=world.handler_a2, query="flyttbidrag")
    for path in PATHS:
        subjects = {row.thread.subject for row in _rows(search, path)}
        assert subjects == {"Flyttbidrag i rutinen"}, path  # not the case's thread, cut off for a2
    search = Search(user=world.handler_a1, query="flyttbidrag")
    for path in PATHS:
        subjects = {row.thread.subject for row in _rows(search, path)}
        assert subjects == {"Ansökan om bostadsbidrag", "Flyttbidrag i rutinen"}, path


def _rows(search: Search, path: str):
    from mailboxes.models import MailboxThread

    by_id = MailboxThread.objects.select_related("thread").in_bulk(search.ids(100, path=path))
    return list(by_id.values())


def test_postgresql_statistics_choose_the_path(org):
    needs_postgresql()
    first = internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Statistik", body="vanligt")
    Message.objects.bulk_create(
        Message(thread=first.thread, sender=org.handler_b1, body=f"vanligt ord{i}") for i in range(199)
    )
    Message.objects.filter(pk=first.pk).update(body="vanligt och sällsynt")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailboxes_message")
    assert Search(user=org.handler_a1, query="vanligt").path() == "walk"
    assert Search(user=org.handler_a1, query="sällsynt").path() == "index"
    assert Search(user=org.handler_a1, query="19750722-9834").path() == "index"
    assert Search(user=org.handler_a1, query="ov").path() == "walk"  # too short for the trigram indexes


def test_the_page_counts_up_to_the_limit_then_says_more_and_pages_on(client, org, monkeypatch):
    monkeypatch.setattr("mailboxes.search.SEARCH_COUNTED", 3)
    monkeypatch.setattr("mailboxes.selectors.THREADS_PER_PAGE", 2)
    for i in range(5):
        internal_thread(org.handler_b1, [personal(org.handler_a1)], subject=f"Tolk {i}", body="tolkning")
    login(client, org.handler_a1)
    url = reverse("mailboxes:search")

    def page(number: int) -> str:
        return client.get(url, {"q": "tolk", "sida": number}).content.decode()

    first = page(1)
    assert "Över 3 träffar" in first and "Sida 1<" in first and "sida=2" in first
    assert "Tolk 4" in first and "Tolk 3" in first and "Tolk 2" not in first
    second = page(2)
    assert "Över 4 träffar" in second and "Tolk 2" in second and "Tolk 1" in second and "sida=3" in second
    third = page(3)  # reads to the end of the page: all five, counted
    assert "5 träffar" in third and "Sida 3 av 3" in third and "Tolk 0" in third
    assert "sida=4" not in third
    assert "Tolk 0" in page(7)  # past the end: the last page, as Django's paginator
