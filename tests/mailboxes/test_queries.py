"""Each inbox page runs a fixed number of queries whether the mailbox holds 1 or 500 threads: lists
come from the summaries, never from scanning messages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import IdleTimeoutMiddleware
from mailboxes.models import Delivery, MailboxThread, Message, Thread
from tests import factories
from tests.conftest import idle_for, login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

# The page budget a later benchmark holds us to (production counts: no test savepoints).
BUDGET = 12


def bulk_threads(*, mailbox, sender, count: int) -> None:
    """`count` internal threads with one unread message each in `mailbox`, inserted in bulk."""
    now = timezone.now()
    threads = Thread.objects.bulk_create(
        [Thread(subject=f"Tråd {i}", created_at=now, last_message_at=now) for i in range(count)]
    )
    messages = Message.objects.bulk_create(
        [
            Message(thread=t, sender=sender, body=f"Meddelande {t.pk}", created_at=now, routed_at=now)
            for t in threads
        ]
    )
    Delivery.objects.bulk_create(
        [Delivery(message=m, mailbox=mailbox, thread_id=m.thread_id, created_at=now) for m in messages]
    )
    MailboxThread.objects.bulk_create(
        [
            MailboxThread(
                mailbox=mailbox,
                thread_id=m.thread_id,
                last_activity_at=now,
                message_count=1,
                unread_count=1,
                latest_sender_name=sender.display_name,
                latest_snippet=m.body,
                counterpart_name=sender.display_name,
            )
            for m in messages
        ]
    )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.fixture
def pages(org):
    """The three pages, each over a thread that stays the same while the mailbox grows."""
    gbox = group(org.unit_a)
    message = internal_thread(org.handler_b1, [gbox, personal(org.handler_a1)], subject="Den vi öppnar")
    case = factories.case(eservice_obj=org.eservice_a)
    citizen_writes(case)
    return {
        "index": reverse("mailboxes:index"),
        "group": reverse("mailboxes:mailbox", args=[gbox.pk]),
        "personal": reverse("mailboxes:mailbox", args=[personal(org.handler_a1).pk]),
        "thread": reverse("mailboxes:thread", args=[gbox.pk, message.thread_id]),
        "citizen_thread": reverse("mailboxes:thread", args=[gbox.pk, case.thread_id]),
    }


def measure(client, org, pages) -> dict[str, int]:
    login(client, org.handler_a1)
    # The session records activity on the first request after login, then at most every
    # IdleTimeoutMiddleware.RESOLUTION seconds: counted after that, as on most later pages (see
    # test_pages_stay_within_the_query_budget for the pages that record it).
    client.get(pages["index"])
    # The first visit marks the thread read (one more statement); then the steady state.
    first = count_queries(client, pages["thread"])
    for url in pages.values():
        client.get(url)
    return {"thread_first_open": first} | {name: count_queries(client, url) for name, url in pages.items()}


@pytest.mark.django_db
def test_page_query_counts_do_not_grow_with_the_mailbox(client, org, pages, django_assert_num_queries):
    small = measure(client, org, pages)
    # The same thread unread again, so its first open is measured once more.
    MailboxThread.objects.filter(thread__subject="Den vi öppnar").update(unread_count=1)
    Delivery.objects.filter(thread__subject="Den vi öppnar").update(read_at=None, read_by=None)
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    bulk_threads(mailbox=personal(org.handler_a1), sender=org.handler_b1, count=500)
    assert MailboxThread.objects.filter(mailbox=group(org.unit_a)).count() == 502

    with django_assert_num_queries(small["thread_first_open"]):
        client.get(pages["thread"])
    for name, url in pages.items():
        with django_assert_num_queries(small[name]):
            assert client.get(url).status_code == 200


@pytest.mark.fast_path
@pytest.mark.django_db(transaction=True)
def test_pages_stay_within_the_query_budget(client, pages, org):
    """Counted outside any test transaction, as in production (BEGIN/COMMIT included)."""
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    counts = measure(client, org, pages)
    for name in ("index", "group", "personal", "thread", "citizen_thread"):
        assert counts[name] <= BUDGET, (name, counts[name])
    # Opening an unread thread adds the one mark-read statement.
    assert counts["thread_first_open"] <= BUDGET + 1
    # A page on which the session's last activity is due to be recorded (every RESOLUTION seconds a
    # user) adds that one UPDATE, and stays within the budget.
    for name, url in pages.items():
        idle_for(client, IdleTimeoutMiddleware.RESOLUTION)
        refreshing = count_queries(client, url)
        assert refreshing == counts[name] + 1, (name, refreshing, counts[name])
        assert refreshing <= BUDGET, (name, refreshing)


FILTERED = [
    "olasta=on",
    "mina=on",
    "franvaro=on",
    "hanterad=nej",
    "hanterad=ja",
    "ESERVICE&olasta=on&hanterad=nej",
]


def _filtered_urls(org) -> list[str]:
    url = reverse("mailboxes:mailbox", args=[group(org.unit_a).pk])
    return [f"{url}?{q.replace('ESERVICE', f'etjanst={org.eservice_a.pk}')}" for q in FILTERED]


@pytest.mark.django_db
def test_filtered_list_query_counts_do_not_grow_with_the_mailbox(client, org, pages):
    login(client, org.handler_a1)
    client.get(pages["index"])
    urls = _filtered_urls(org)
    small = {url: count_queries(client, url) for url in urls}
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    assert {url: count_queries(client, url) for url in urls} == small
    # Filters cost what the unfiltered list costs: the same count and page queries, other conditions
    # (an empty result has no page query).
    assert max(small.values()) == count_queries(client, pages["group"])


@pytest.mark.fast_path
@pytest.mark.django_db(transaction=True)
def test_filtered_lists_stay_within_the_query_budget(client, pages, org):
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    login(client, org.handler_a1)
    client.get(pages["index"])
    for url in _filtered_urls(org):
        assert count_queries(client, url) <= BUDGET, url


# The workspace's panes (mailboxes/views/workspace.py): what htmx asks for when a thread is opened, a
# mailbox switched, the list reloaded, and the polled counts.
HX = {"HTTP_HX_REQUEST": "true"}


def pane_requests(org, pages) -> dict[str, tuple[str, dict]]:
    unread = reverse("mailboxes:unread")
    return {
        "thread_pane": (pages["thread"], {**HX, "HTTP_HX_TARGET": "ws-thread"}),
        "citizen_thread_pane": (pages["citizen_thread"], {**HX, "HTTP_HX_TARGET": "ws-thread"}),
        "group_list_pane": (
            pages["group"],
            {**HX, "HTTP_HX_TARGET": "ws-list", "HTTP_HX_TRIGGER": "ws-list-refresh"},
        ),
        "personal_list_pane": (pages["personal"], {**HX, "HTTP_HX_TARGET": "ws-list"}),
        "workspace_switch": (pages["group"], {**HX, "HTTP_HX_TARGET": "workspace"}),
        "counts_changed": (unread + "?v=stale&current=1", HX),
    }


def count_pane_queries(client, url: str, headers: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    assert "<html" not in response.content.decode(), url  # a pane, not a page
    return len(ctx.captured_queries)


def measure_panes(client, org, pages) -> dict[str, int]:
    login(client, org.handler_a1)
    client.get(pages["index"])
    requests = pane_requests(org, pages)
    for url, headers in requests.values():
        client.get(url, **headers)  # the threads are read now: the steady state
    return {name: count_pane_queries(client, url, headers) for name, (url, headers) in requests.items()}


@pytest.mark.django_db
def test_workspace_pane_query_counts_do_not_grow_with_the_mailbox(client, org, pages):
    small = measure_panes(client, org, pages)
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    bulk_threads(mailbox=personal(org.handler_a1), sender=org.handler_b1, count=500)
    requests = pane_requests(org, pages)
    assert {name: count_pane_queries(client, url, h) for name, (url, h) in requests.items()} == small
    # A pane costs no more than the page it is part of.
    assert small["thread_pane"] <= count_queries(client, pages["thread"])
    assert small["group_list_pane"] <= count_queries(client, pages["group"])


@pytest.mark.fast_path
@pytest.mark.django_db(transaction=True)
def test_workspace_panes_stay_within_the_query_budget(client, pages, org):
    bulk_threads(mailbox=group(org.unit_a), sender=org.handler_b1, count=500)
    counts = measure_panes(client, org, pages)
    for name, count in counts.items():
        assert count <= BUDGET, (name, count)
    # The polled counts unchanged: 204 from the session and the one count query.
    login(client, org.handler_a1)
    page = client.get(pages["group"]).content.decode()
    poll = re.search(r'hx-get="([^"]*olasta/\?v=[^"]*)"', page).group(1).replace("&amp;", "&")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(poll, **HX).status_code == 204
    assert len(ctx.captured_queries) <= 2, [q["sql"][:80] for q in ctx.captured_queries]
