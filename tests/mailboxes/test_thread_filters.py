"""The thread list's filters (mailboxes.thread_filters), each alone and combined, against PostgreSQL:
the selector, and the page that reads them from its URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eservices.selectors import mailbox_eservice_choices
from lifemsg import perf
from mailboxes import selectors
from mailboxes.models import Delivery, MailboxThread
from mailboxes.thread_filters import ThreadFilters, filters_from_query
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import personal
from tests.mailboxes.filter_world import build_filter_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return build_filter_world(org)


def listed(world, filters: ThreadFilters, user=None) -> set[str]:
    threads = selectors.mailbox_threads(
        mailbox=world.mailbox, user=user or world.org.handler_a1, filters=filters
    )
    rows = threads[0:100]
    assert threads.count() == len(rows)
    return {row.thread.subject for row in rows}


ALL = {"A oläst", "X oläst", "A läst", "X tagen", "A hanterad", "A frånvaro", "Intern fråga"}


@pytest.mark.parametrize("fast_path", [True, False], ids=["compiled", "django"])
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ALL),
        ({"eservice": "a"}, {"A oläst", "A läst", "A hanterad", "A frånvaro"}),
        ({"eservice": "x"}, {"X oläst", "X tagen"}),
        ({"unread": True}, {"A oläst", "X oläst", "A frånvaro", "Intern fråga"}),
        ({"taken_by_me": True}, {"X tagen"}),
        ({"away": True}, {"A frånvaro"}),
        ({"handled": True}, {"A hanterad"}),
        ({"handled": False}, ALL - {"A hanterad"}),
        ({"eservice": "a", "unread": True}, {"A oläst", "A frånvaro"}),
        ({"eservice": "x", "taken_by_me": True}, {"X tagen"}),
        ({"eservice": "x", "unread": True, "handled": False}, {"X oläst"}),
        ({"unread": True, "away": True}, {"A frånvaro"}),
        ({"eservice": "a", "handled": False, "unread": False}, {"A oläst", "A läst", "A frånvaro"}),
        ({"taken_by_me": True, "handled": True}, set()),
        ({"eservice": "x", "away": True}, set()),
    ],
)
def test_each_filter_and_their_combinations_list_exactly_the_matching_threads(
    world, filters, expected, fast_path, settings
):
    settings.LIFEMSG_FAST_PATH = fast_path
    assert perf.enabled() is fast_path
    filters = dict(filters)
    eservice = filters.pop("eservice", None)
    eservice_id = {"a": world.org.eservice_a.pk, "x": world.eservice_x.pk, None: None}[eservice]
    assert listed(world, ThreadFilters(eservice_id=eservice_id, **filters)) == expected


def test_taken_by_me_is_the_viewer_own(world):
    assert listed(world, ThreadFilters(taken_by_me=True), user=world.org.handler_a2) == set()


def test_away_filter_is_the_mailbox_copies_forwarded_because_of_absence(world):
    """The summary's tag, held to the deliveries it stands for."""
    by_deliveries = set(
        Delivery.objects.filter(mailbox=world.mailbox, reason=Delivery.Reason.FORWARDED_ABSENCE)
        .values_list("thread__subject", flat=True)
        .distinct()
    )
    assert by_deliveries == listed(world, ThreadFilters(away=True)) == {"A frånvaro"}


def test_a_handled_thread_that_gets_a_new_message_is_no_longer_handled(world):
    from tests.mailboxes.conftest import citizen_writes

    citizen_writes(world.threads["A hanterad"].case, body="En sak till.")
    assert "A hanterad" in listed(world, ThreadFilters(handled=False, unread=True))


def test_eservice_choices_are_the_units_and_the_selected_one(world):
    other = factories.eservice(world.org.unit_b, name="E-tjänst B")
    choices = mailbox_eservice_choices(mailbox=world.mailbox)
    assert [name for _, name in choices] == sorted([world.org.eservice_a.name, "E-tjänst X"])
    # A personal mailbox: the owner's units' e-services.
    assert mailbox_eservice_choices(mailbox=personal(world.org.handler_b1)) == [(other.pk, "E-tjänst B")]
    # A bookmarked filter keeps its e-service in the list.
    chosen = mailbox_eservice_choices(mailbox=world.mailbox, selected_id=other.pk)
    assert (other.pk, "E-tjänst B") in chosen


def test_eservice_choices_include_one_with_cases_moved_into_the_unit(world):
    other = factories.eservice(world.org.unit_b, name="E-tjänst B")
    from eservices.services import case_create

    case_create(citizen=factories.citizen(), eservice=other, unit=world.org.unit_a, subject="Flyttat")
    assert (other.pk, "E-tjänst B") in mailbox_eservice_choices(mailbox=world.mailbox)


def test_filters_survive_the_round_trip_through_their_query_string(world):
    filters = ThreadFilters(eservice_id=world.eservice_x.pk, unread=True, away=True, handled=False)
    assert filters_from_query(filters.query()) == filters
    assert filters_from_query("etjanst=x&olasta=ja&hanterad=kanske&next=https://evil.example/") == (
        ThreadFilters(unread=True)
    )


# --- the page -----------------------------------------------------------------------------------


def page(client, world, query: str = "", user=None):
    login(client, user or world.org.handler_a1)
    url = reverse("mailboxes:mailbox", args=[world.mailbox.pk])
    response = client.get(f"{url}?{query}" if query else url)
    assert response.status_code == 200
    return response


def subjects(response) -> set[str]:
    return {row.thread.subject for row in response.context["page"].object_list}


def test_filtered_list_is_a_url_with_count_and_clear_link(client, world):
    response = page(client, world, f"etjanst={world.org.eservice_a.pk}&olasta=on")
    assert subjects(response) == {"A oläst", "A frånvaro"}
    body = response.content.decode()
    assert "2 konversationer matchar filtret" in body
    clear = reverse("mailboxes:mailbox", args=[world.mailbox.pk])
    assert f'href="{clear}" class="thread-filters__clear">Rensa filter</a>' in body
    # The form shows what is applied.
    assert f'<option value="{world.org.eservice_a.pk}" selected>' in body
    assert 'name="olasta" id="filter-olasta" checked' in body


def test_unfiltered_list_has_no_clear_link_and_counts_all(client, world):
    body = page(client, world).content.decode()
    assert "7 konversationer" in body
    assert "Rensa filter" not in body


def test_every_filter_parameter_of_the_page(client, world):
    cases = {
        f"etjanst={world.eservice_x.pk}": {"X oläst", "X tagen"},
        "olasta=on": {"A oläst", "X oläst", "A frånvaro", "Intern fråga"},
        "mina=on": {"X tagen"},
        "franvaro=on": {"A frånvaro"},
        "hanterad=ja": {"A hanterad"},
        "hanterad=nej": ALL - {"A hanterad"},
        "olasta=on&franvaro=on&hanterad=nej": {"A frånvaro"},
    }
    for query, expected in cases.items():
        assert subjects(page(client, world, query)) == expected, query


def test_values_that_do_not_fit_are_left_out_not_an_error(client, world):
    other_unit_eservice = factories.eservice(world.org.unit_b)
    assert subjects(page(client, world, "etjanst=abc&hanterad=kanske&olasta=on")) == {
        "A oläst",
        "X oläst",
        "A frånvaro",
        "Intern fråga",
    }
    # Another unit's e-service filters (to nothing here), and stays shown as chosen.
    response = page(client, world, f"etjanst={other_unit_eservice.pk}")
    assert subjects(response) == set()
    assert "Inga konversationer matchar filtret." in response.content.decode()


def test_old_single_choice_links_still_work(client, world):
    unread = {"A oläst", "X oläst", "A frånvaro", "Intern fråga"}
    assert subjects(page(client, world, "visa=olasta")) == unread
    assert subjects(page(client, world, "visa=mina")) == {"X tagen"}
    assert subjects(page(client, world, "visa=hanterade")) == {"A hanterad"}


def test_pages_keep_the_filters(client, world, monkeypatch):
    monkeypatch.setattr(selectors, "THREADS_PER_PAGE", 2)
    response = page(client, world, "hanterad=nej")
    assert response.context["page"].paginator.count == 6
    # The mailbox's own URL: the list also shows beside a thread, at the thread's URL.
    assert f'href="{response.context["mailbox_url"]}?hanterad=nej&amp;sida=2"' in response.content.decode()
    second = page(client, world, "hanterad=nej&sida=2")
    assert len(second.context["page"].object_list) == 2


def test_taken_by_me_is_offered_only_in_a_group_mailbox(client, world):
    login(client, world.org.handler_a1)
    own = personal(world.org.handler_a1)
    body = client.get(reverse("mailboxes:mailbox", args=[own.pk])).content.decode()
    assert 'name="franvaro"' in body
    assert 'name="mina"' not in body
    assert 'name="mina"' in page(client, world).content.decode()


def test_filters_read_only_the_mailbox_own_summaries(client, world):
    """A filter never reaches threads of another mailbox (the same e-service elsewhere)."""
    elsewhere = factories.case(eservice_obj=world.org.eservice_a, handler=world.org.handler_a1)
    from tests.mailboxes.conftest import citizen_writes

    citizen_writes(elsewhere)
    assert MailboxThread.objects.filter(thread=elsewhere.thread, mailbox=world.mailbox).count() == 0
    response = page(client, world, f"etjanst={world.org.eservice_a.pk}")
    assert elsewhere.thread.subject not in subjects(response)
