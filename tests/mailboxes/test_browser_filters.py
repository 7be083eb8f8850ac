"""In Chromium, as a group member would: filter the group mailbox's list by e-service and unread,
take two threads at once, then mark them handled; the filtered list passes axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from mailboxes.models import MailboxThread
from tests import factories
from tests.mailboxes.conftest import citizen_writes
from tests.mailboxes.filter_world import build_filter_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "test-password-123"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE"}


def log_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/logga-in/")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Logga in").click()
    expect(page).not_to_have_url(re.compile(r"/logga-in/"))


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def test_member_filters_takes_two_and_marks_them_handled(live_server, page):
    world = build_filter_world(factories.Organisation.build())
    second = factories.case(eservice_obj=world.eservice_x, subject="X andra olästa")
    citizen_writes(second)
    org = world.org
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + reverse("mailboxes:mailbox", args=[world.mailbox.pk]))

    filters = page.get_by_role("group", name="Filtrera konversationer")
    filters.get_by_label("E-tjänst").select_option(label="E-tjänst X")
    filters.get_by_label("Olästa").check()
    filters.get_by_role("button", name="Filtrera").click()
    expect(page).to_have_url(re.compile(rf"etjanst={world.eservice_x.pk}.*olasta=on"))
    expect(page.get_by_text("2 konversationer matchar filtret")).to_be_visible()
    rows = page.locator(".thread-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name="Rensa filter")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Välj: X oläst").check()
    page.get_by_label("Välj: X andra olästa").check()
    expect(page.get_by_label("Välj alla på den här sidan")).to_be_checked()
    page.get_by_role("button", name="Ta valda").click()
    expect(page.get_by_text("Du tar nu hand om 2 konversationer.")).to_be_visible()
    # Back on the same filtered list, both tagged as taken.
    expect(page).to_have_url(re.compile(rf"etjanst={world.eservice_x.pk}"))
    expect(rows.filter(has_text="tas om hand av Anna Andersson")).to_have_count(2)

    page.get_by_label("Välj alla på den här sidan").check()
    expect(page.get_by_label("Välj: X oläst")).to_be_checked()
    page.get_by_role("button", name="Markera valda som hanterade").click()
    expect(page.get_by_text("2 konversationer markerade som hanterade.")).to_be_visible()
    expect(rows.filter(has_text="hanterat av Anna Andersson")).to_have_count(2)
    assert_accessible(page)

    handled = MailboxThread.objects.filter(mailbox=world.mailbox, handled_by=org.handler_a1)
    assert set(handled.values_list("thread__subject", flat=True)) == {"X oläst", "X andra olästa"}

    page.get_by_role("link", name="Rensa filter").click()
    expect(page.get_by_text("8 konversationer", exact=True)).to_be_visible()
