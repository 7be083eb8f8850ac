"""lifemsg.pagination.CountingPaginator: Django's pages and answers, with the count read in the page's
own query."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from mailboxes.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def threads():
    now = timezone.now()
    Thread.objects.bulk_create(
        [Thread(subject=f"Tråd {i:02}", created_at=now, last_message_at=now) for i in range(23)]
    )
    return Thread.objects.order_by("subject")


def _shape(page):
    return (
        [t.subject for t in page.object_list],
        page.number,
        page.paginator.count,
        page.paginator.num_pages,
        page.has_previous(),
        page.has_next(),
        page.start_index(),
        page.end_index(),
    )


@pytest.mark.parametrize("orphans", [0, 3])
@pytest.mark.parametrize("number", ["1", "2", 3, "3", "4", "99", "0", "-1", "abc", "2.5", 2.5, 2.0, None, ""])
def test_every_page_number_gets_djangos_page(threads, number, orphans):
    from lifemsg.pagination import CountingPaginator

    expected = _shape(Paginator(threads, 10, orphans=orphans).get_page(number))
    assert _shape(CountingPaginator(threads, 10, orphans=orphans).get_page(number)) == expected


def test_a_page_and_its_count_are_one_query(threads, django_assert_num_queries):
    from lifemsg.pagination import CountingPaginator

    with django_assert_num_queries(1):
        page = CountingPaginator(threads, 10).get_page("2")
        assert [t.subject for t in page] == [f"Tråd {i:02}" for i in range(10, 20)]
        assert page.paginator.count == 23 and page.paginator.num_pages == 3
    with django_assert_num_queries(1):  # no page asked for (a search's first page): the first
        page = CountingPaginator(threads, 10).get_page(None)
        assert page.number == 1 and page.paginator.count == 23
    with django_assert_num_queries(2):  # Django's: the count, then the page
        page = Paginator(threads, 10).get_page("2")
        assert page.paginator.count == 23 and len(page.object_list) == 10


def test_an_empty_list_is_an_empty_first_page(django_assert_num_queries):
    from lifemsg.pagination import CountingPaginator

    page = CountingPaginator(Thread.objects.none().order_by("id"), 10).get_page("1")
    assert list(page) == [] and page.number == 1 and page.paginator.count == 0
    with django_assert_num_queries(2):  # nothing on the page: Django counts, as it would
        page = CountingPaginator(Thread.objects.filter(subject="ingen").order_by("id"), 10).get_page("1")
        assert list(page) == [] and page.paginator.count == 0
