"""The unit overview's pictures: 30-day series per group mailbox (against the database), this week's
away timeline, flat query counts, who may see them, and no protected citizen named."""

import re
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from absence import overview
from absence.models import Absence
from absence.timeutil import local_dt
from accounts import roles
from mailboxes.models import Delivery
from tests import factories
from tests.absence.helpers import citizen_writes, planned, sick_leave
from tests.conftest import login

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 9)  # a Wednesday, far from a daylight-saving change
WHEN = local_dt(TODAY, time(12))


def _at(days_ago: int, hour: int, minute: int = 0):
    return local_dt(TODAY - timedelta(days=days_ago), time(hour, minute))


def _group_delivery(org, *, created, read=None, handled=None) -> Delivery:
    message = citizen_writes(factories.case(eservice_obj=org.eservice_a))
    delivery = Delivery.objects.get(message=message, mailbox=org.unit_a.group_mailbox)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=created, read_at=read, handled_at=handled)
    return delivery


def _seed_three(org) -> None:
    _group_delivery(org, created=_at(2, 10))  # never read
    _group_delivery(org, created=_at(1, 9), read=_at(0, 8))  # read this morning
    _group_delivery(org, created=_at(0, 7), read=_at(0, 7, 30), handled=_at(0, 8))


def test_three_deliveries_over_three_days_give_these_series(org):
    _seed_three(org)
    mailbox_id = org.unit_a.group_mailbox.pk
    points = overview.mailbox_series(mailbox_ids=[mailbox_id], when=WHEN)[mailbox_id]
    assert len(points) == 30
    assert points[-1].day == TODAY and points[0].day == TODAY - timedelta(days=29)
    last_three = [(p.day, p.unread, p.oldest_unread_days, p.handled) for p in points[-3:]]
    assert last_three == [
        (TODAY - timedelta(days=2), 1, 0.6, 0),  # 14 h old at midnight
        (TODAY - timedelta(days=1), 2, 1.6, 0),  # 38 h
        (TODAY, 1, 2.1, 1),  # at noon: 50 h; the third was read and handled this morning
    ]
    assert all((p.unread, p.oldest_unread_days, p.handled) == (0, None, 0) for p in points[:-3])


@pytest.mark.postgres_only(reason="compares PostgreSQL's series query with the fallback SQLite uses")
def test_the_python_fallback_gives_the_same_series_as_the_sql(org):
    _seed_three(org)
    _group_delivery(org, created=_at(40, 10), read=_at(20, 10), handled=_at(3, 10))
    _group_delivery(org, created=_at(29, 23), read=_at(5, 1))
    ids = [org.unit_a.group_mailbox.pk, org.unit_b.group_mailbox.pk]
    first = TODAY - timedelta(days=29)
    assert connection.vendor == "postgresql"
    assert overview._series_python(ids, first, WHEN, 30) == overview._series_sql(ids, first, WHEN, 30)


def test_series_and_week_take_one_query_each_whatever_the_rows(org, django_assert_num_queries):
    ids = [org.unit_a.group_mailbox.pk, org.unit_b.group_mailbox.pk]
    for days_ago in range(0, 30, 3):
        _group_delivery(org, created=_at(days_ago, 9), read=_at(max(days_ago - 1, 0), 10))
    for handler in (org.handler_a1, org.handler_a2):
        sick_leave(handler, actor=org.admin)
    with django_assert_num_queries(1):
        overview.mailbox_series(mailbox_ids=ids, when=WHEN)
    with django_assert_num_queries(1):
        overview.away_this_week(unit_ids=[org.unit_a.pk, org.unit_b.pk])


def test_week_timeline_marks_whole_and_part_days_per_person(org):
    monday = TODAY - timedelta(days=TODAY.weekday())
    before = local_dt(monday - timedelta(days=6))

    def away(handler, first, last, at=None):
        start = local_dt(monday + timedelta(days=first), at)
        planned(handler, starts_at=start, ends_at=local_dt(monday + timedelta(days=last)), now=before)

    away(org.handler_a1, 1, 3)  # Tuesday and Wednesday
    away(org.handler_a2, 4, 9, time(13))  # from Friday afternoon into next week
    away(org.handler_b1, 0, 1)  # another unit
    away(org.manager_a, -5, 0)  # last week only: not on this week's picture
    week = overview.away_this_week(unit_ids=[org.unit_a.pk], when=WHEN)[org.unit_a.pk]
    assert week.days[0] == monday and week.days[-1] == monday + timedelta(days=6) and week.today == TODAY
    assert [(r.name, r.days) for r in week.rows] == [
        ("Anna Andersson", ["", "all", "all", "", "", "", ""]),
        ("Bo Berg", ["", "", "", "", "part", "all", "all"]),
    ]


def test_manager_sees_charts_tables_and_timeline(client, org):
    _group_delivery(org, created=timezone.now() - timedelta(days=2))
    sick_leave(org.handler_a1, actor=org.admin, reason="Hemlig orsak")
    login(client, org.manager_a)
    page = client.get(reverse("absence:unit_overview")).content.decode()
    assert page.count("<figure") == 3 and page.count("<figcaption") == 3
    assert page.count('role="img"') == 3 and page.count("<details") == 3
    assert "Olästa meddelanden vid slutet av varje dag, senaste 30 dagarna" in page
    assert "Borta den här veckan" in page and "Anna Andersson" in page
    assert "Hemlig orsak" not in page
    assert 'style="' not in page and "<script>" not in page
    # Decimal commas would break the SVG geometry in Swedish.
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert not re.search(r'="[0-9.]*,[0-9]', svg)


def test_refresh_does_not_recompute_the_pictures(client, org):
    login(client, org.manager_a)
    with CaptureQueriesContext(connection) as full:
        client.get(reverse("absence:unit_overview"))
    with CaptureQueriesContext(connection) as partial:
        body = client.get(reverse("absence:unit_overview_refresh")).content.decode()
    assert "<figure" not in body
    assert len(partial) == len(full) - 2


def test_protected_citizen_is_not_named_on_the_overview(client, org):
    hidden = factories.citizen("Skyddad", "Personsson")
    hidden.protected_identity = True
    hidden.save(update_fields=["protected_identity"])
    case = factories.case(eservice_obj=org.eservice_a, citizen_obj=hidden, handler=org.handler_a1)
    citizen_writes(case, "Hej")
    sick_leave(org.handler_a1, actor=org.admin)  # on the timeline: the handler, never the citizen
    login(client, org.manager_a)
    page = client.get(reverse("absence:unit_overview")).content.decode()
    assert page.count("<figure") == 3 and "Anna Andersson" in page
    assert "Skyddad" not in page and "Personsson" not in page


def test_other_units_manager_does_not_see_this_units_pictures(client, org):
    _group_delivery(org, created=timezone.now() - timedelta(days=1))
    sick_leave(org.handler_a1, actor=org.admin)
    login(client, factories.staff(roles.ENHETSCHEF, units=(org.unit_b,)))
    page = client.get(reverse("absence:unit_overview")).content.decode()
    assert f"unread-{org.unit_a.group_mailbox.pk}" not in page and "Anna Andersson" not in page
    assert f"unread-{org.unit_b.group_mailbox.pk}" in page


@pytest.mark.parametrize("role", ["handler_a1", "admin", "sysadmin", "log_reviewer"])
def test_pictures_are_refused_to_other_roles(client, org, role):
    login(client, getattr(org, role))
    assert client.get(reverse("absence:unit_overview")).status_code == 403


def test_overview_query_count_is_flat_with_pictures(client, org):
    login(client, org.manager_a)
    _group_delivery(org, created=timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("absence:unit_overview"))
    for days_ago in range(2, 30, 2):
        _group_delivery(org, created=timezone.now() - timedelta(days=days_ago), handled=timezone.now())
    for _ in range(3):
        sick_leave(factories.staff(units=(org.unit_a,)))
    Absence.objects.update(starts_at=timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("absence:unit_overview"))
    assert len(many) == len(one)
