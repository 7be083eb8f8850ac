"""In Chromium, as a handläggare would: the unread count, reading, replying, and a colleague in the
group mailbox taking and handling a message."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings
from playwright.sync_api import expect

from tests import factories
from tests.mailboxes.conftest import group, internal_thread, personal

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
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))
    page.wait_for_load_state("load")  # the deferred scripts (keys, htmx) have run


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def mailbox_row(page, name: str):
    return page.locator(".mb-list__item").filter(has_text=name)


@override_settings(MAILBOX_UNREAD_POLL_SECONDS=1)
def test_handlaggare_reads_replies_and_sees_who_handled_in_the_group_mailbox(live_server, page, browser):
    org = factories.Organisation.build()
    internal_thread(
        org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?", body="Ring mig i dag."
    )
    internal_thread(org.handler_b1, [group(org.unit_a)], subject="Behöver tolk", body="Vem bokar tolk?")
    base = live_server.url

    # Anna sees her unread count, opens the thread, replies; the count drops.
    log_in(page, base, org.handler_a1.username)
    page.get_by_role("link", name="Brevlådor").first.click()
    expect(mailbox_row(page, "Min brevlåda")).to_contain_text("1 oläst")
    expect(mailbox_row(page, "IFO Testenhet A")).to_contain_text("1 oläst")
    assert_accessible(page)

    page.get_by_role("link", name="Min brevlåda").click()
    assert_accessible(page)
    page.get_by_role("link", name="Kan du ringa mig?").click()
    expect(page.locator("#ws-thread").get_by_text("Ring mig i dag.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Ditt svar").fill("Jag ringer efter lunch.")
    page.get_by_role("button", name="Skicka svar").click()
    expect(page.get_by_text("Ditt svar har skickats.")).to_be_visible()
    expect(page.locator("#ws-thread").get_by_text("Jag ringer efter lunch.")).to_be_visible()
    # The workspace's mailbox list is beside the thread.
    expect(mailbox_row(page, "Min brevlåda")).to_contain_text("inga olästa")

    # Bo, the second member, takes the group mailbox's message and marks it handled.
    other = browser.new_context(locale="sv-SE")
    bo = other.new_page()
    log_in(bo, base, org.handler_a2.username)
    bo.goto(base + f"/brevlador/{group(org.unit_a).pk}/")
    bo.get_by_role("link", name="Behöver tolk").click()
    bo.get_by_role("button", name="Jag tar den").click()
    expect(bo.locator(".work-state")).to_contain_text("tas om hand av Bo Berg")
    assert_accessible(bo)
    bo.get_by_role("button", name="Markera som hanterad").click()
    expect(bo.locator(".work-state")).to_contain_text("hanterat av Bo Berg")
    other.close()

    # Anna, still on her page, sees the group count drop without reloading (Bo read it)…
    expect(mailbox_row(page, "IFO Testenhet A")).to_contain_text("inga olästa", timeout=10_000)
    # …and in the group mailbox who handled it.
    page.get_by_role("link", name="IFO Testenhet A").click()
    row = page.locator(".thread-row").filter(has_text="Behöver tolk")
    expect(row).to_contain_text("hanterat av Bo Berg")


def test_mailbox_pages_work_on_a_phone(live_server, page):
    org = factories.Organisation.build()
    internal_thread(
        org.handler_b1, [group(org.unit_a)], subject="En ganska lång rubrik om tolkbokning och resor"
    )
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + f"/brevlador/{group(org.unit_a).pk}/")
    # Nothing wider than the screen: no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    page.get_by_role("link", name=re.compile("En ganska lång rubrik")).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)


def test_the_mail_tip_appears_when_an_away_colleague_is_chosen(live_server, page):
    from tests.mailboxes.test_services import away

    org = factories.Organisation.build()
    away(org.handler_a2, forward_to=group(org.unit_a), set_by=org.admin)
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + "/brevlador/nytt/")
    page.get_by_label("Till").select_option(label="Bo Berg (IFO Testenhet A)")
    tip = page.locator("#away-tip")
    expect(tip).to_contain_text("Bo Berg är frånvarande tills vidare.")
    expect(tip).to_contain_text("Meddelandet går även till IFO Testenhet A.")
    assert_accessible(page)
    page.locator("#id_subject").fill("Byte av vecka")
    page.locator("#id_body").fill("Kan vi byta?")
    page.get_by_role("button", name="Skicka", exact=True).click()
    # The tip was seen before sending, so it goes at once.
    expect(page.get_by_text("Ditt meddelande har skickats.")).to_be_visible()


def test_handlaggare_searches_pages_through_the_hits_and_opens_one(live_server, page):
    """The search reads its hits to the end of the page shown (mailboxes.search.SearchPaginator):
    the first page says there are more than 25 and offers the next, the last one counts them all,
    and a hit opens its thread."""
    org = factories.Organisation.build()
    for i in range(27):
        internal_thread(
            org.handler_b1, [personal(org.handler_a1)], subject=f"Tolkbokning {i:02}", body="Om tolk"
        )
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Annat ärende", body="Om resor")
    log_in(page, live_server.url, org.handler_a1.username)
    page.get_by_role("link", name="Brevlådor").first.click()
    page.get_by_role("link", name="Sök").first.click()
    page.get_by_role("search").get_by_role("textbox", name="Sök").fill("tolkbokning")
    page.get_by_role("search").get_by_role("button", name="Sök").click()

    results = page.locator("section[aria-labelledby='results-title']")
    expect(page.locator("#results-title")).to_have_text("Över 25 träffar")
    expect(results.locator(".pagination")).to_contain_text("Sida 1")
    expect(results.locator(".pagination")).not_to_contain_text("av")
    expect(results.locator(".thread-row")).to_have_count(25)
    expect(results).not_to_contain_text("Annat ärende")
    assert_accessible(page)

    page.get_by_role("link", name="Nästa").click()
    expect(page.locator("#results-title")).to_have_text("27 träffar")
    expect(results).to_contain_text("Sida 2 av 2")
    expect(results.locator(".thread-row")).to_have_count(2)
    results.get_by_role("link", name=re.compile("Tolkbokning 00")).click()
    expect(page.locator("#ws-thread").get_by_text("Om tolk")).to_be_visible()
