"""The handläggare's workspace in Chromium: mailboxes, the thread list and the open thread side by
side, opened in place (htmx) at real URLs, kept current by the polled counts, and worked from the
keyboard."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import expect

from mailboxes.models import MailboxThread
from tests import factories
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal
from tests.mailboxes.test_browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE", "viewport": {"width": 1400, "height": 900}}


def mark_page(page) -> None:
    """A flag on the window: still there after an action means the page was not reloaded."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def thread_pane(page):
    return page.locator("#ws-thread")


def rows(page):
    return page.locator("#ws-list .thread-row")


def test_threads_and_mailboxes_open_in_place_at_real_urls(live_server, page):
    org = factories.Organisation.build()
    internal_thread(
        org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?", body="Ring i dag."
    )
    internal_thread(org.handler_b1, [group(org.unit_a)], subject="Behöver tolk", body="Vem bokar tolk?")
    inbox, gbox = personal(org.handler_a1), group(org.unit_a)

    log_in(page, live_server.url, org.handler_a1.username)
    # Landing: the workspace on the personal mailbox, its threads listed, nothing open yet.
    expect(page).to_have_url(live_server.url + reverse("mailboxes:mailbox", args=[inbox.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Min brevlåda")
    expect(page).to_have_title(re.compile(r"^\(2\) Min brevlåda – lifemsg$"))
    assert_accessible(page)

    mark_page(page)
    page.get_by_role("link", name="Kan du ringa mig?").click()
    expect(thread_pane(page)).to_contain_text("Ring i dag.")
    assert same_document(page)
    assert re.search(r"/brevlador/\d+/trad/\d+/$", page.url)
    # The list stays beside the open thread, its row marked; one h1 (the thread's).
    expect(page.locator("#ws-list [data-thread-link][aria-current=true]")).to_have_text("Kan du ringa mig?")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text("Kan du ringa mig?")
    expect(page).to_have_title(re.compile(r"^\(1\) Kan du ringa mig\? – lifemsg$"), timeout=5_000)
    assert_accessible(page)

    # Another mailbox, in place as well.
    page.locator(".mb-nav").get_by_role("link", name="IFO Testenhet A").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("IFO Testenhet A")
    expect(rows(page)).to_have_count(1)
    assert same_document(page)
    assert page.url.endswith(reverse("mailboxes:mailbox", args=[gbox.pk]))

    # Back goes to the thread; each URL is a page of its own, rendered whole by the server.
    page.go_back()
    expect(thread_pane(page)).to_contain_text("Ring i dag.")
    page.reload()
    expect(thread_pane(page)).to_contain_text("Ring i dag.")
    expect(page.locator("#ws-list [data-thread-link][aria-current=true]")).to_have_text("Kan du ringa mig?")


def test_the_workspace_is_one_column_on_a_phone(live_server, page):
    org = factories.Organisation.build()
    internal_thread(
        org.handler_b1, [personal(org.handler_a1)], subject="En ganska lång rubrik om tolkbokning och resor"
    )
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server.url, org.handler_a1.username)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("En ganska lång rubrik")).click()
    expect(thread_pane(page).get_by_role("heading", level=1)).to_be_visible()
    # The open thread stands in for the list, with a way back.
    expect(page.locator("#ws-list")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    page.get_by_role("link", name="Tillbaka till listan").click()
    expect(rows(page)).to_have_count(1)


def test_a_reply_to_a_new_citizen_message_takes_three_keys_after_login(live_server, page):
    org = factories.Organisation.build()
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Äldre fråga")
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd")
    citizen_writes(case, body="Hej, när får jag besked?")

    log_in(page, live_server.url, org.handler_a1.username)
    mark_page(page)
    page.keyboard.press("Enter")  # 1: open the newest thread
    expect(thread_pane(page)).to_contain_text("Hej, när får jag besked?")
    page.keyboard.press("r")  # 2: to the message field
    expect(thread_pane(page).locator("[data-reply-form] textarea")).to_be_focused()
    page.keyboard.type("Du får besked på fredag.")
    page.keyboard.press("Control+Enter")  # 3: send
    expect(page.get_by_text("Ditt meddelande har skickats till medborgaren.")).to_be_visible()
    expect(thread_pane(page)).to_contain_text("Du får besked på fredag.")


def test_j_k_t_e_u_work_and_do_nothing_while_typing(live_server, page):
    org = factories.Organisation.build()
    gbox = group(org.unit_a)
    internal_thread(org.handler_b1, [gbox], subject="Första", body="Den första.")
    internal_thread(org.handler_b1, [gbox], subject="Andra", body="Den andra.")  # newest: listed first
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + reverse("mailboxes:mailbox", args=[gbox.pk]))

    # Typing in a field: the letters are text, nothing else happens.
    search = page.get_by_role("searchbox", name=re.compile("Sök i mina brevlådor"))
    search.click()
    page.keyboard.type("jkteu")
    expect(search).to_have_value("jkteu")
    expect(thread_pane(page)).to_contain_text("Öppna en tråd i listan")
    search.press("Escape")
    page.locator("#ws-list-title").click()  # focus back on the page, out of the field

    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Andra")).to_be_focused()
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Första")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("link", name="Andra")).to_be_focused()
    page.keyboard.press("Enter")
    expect(thread_pane(page)).to_contain_text("Den andra.")

    page.keyboard.press("t")
    expect(page.locator(".work-state")).to_contain_text("tas om hand av Anna Andersson")
    # In the reply field "e" is a letter, not "mark handled".
    page.keyboard.press("r")
    page.keyboard.type("e")
    expect(thread_pane(page).locator("[data-reply-form] textarea")).to_have_value("e")
    expect(page.locator(".work-state")).not_to_contain_text("hanterat")
    page.locator("#thread-title").click()
    page.keyboard.press("e")
    expect(page.locator(".work-state")).to_contain_text("hanterat av Anna Andersson")

    page.keyboard.press("u")
    expect(page.get_by_text("Tråden är markerad som oläst.")).to_be_visible()
    expect(rows(page).filter(has_text="Andra")).to_have_class(re.compile("thread-row--unread"))
    summary = MailboxThread.objects.get(mailbox=gbox, thread__subject="Andra")
    assert summary.unread_count == 1


def test_the_help_overlay_is_an_accessible_dialog(live_server, page):
    org = factories.Organisation.build()
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?")
    log_in(page, live_server.url, org.handler_a1.username)
    page.get_by_role("link", name="Kan du ringa mig?").focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Kortkommandon")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Nästa tråd i listan")
    assert page.evaluate("document.getElementById('keys-help').contains(document.activeElement)")
    assert_accessible(page)
    # Focus stays in the dialog.
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('keys-help').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Kan du ringa mig?")).to_be_focused()

    # The menu's button opens it too, also after a mailbox was switched in place; the keys can be
    # switched off there (WCAG 2.1.4), and then do nothing.
    page.locator(".mb-nav").get_by_role("link", name="IFO Testenhet A").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("IFO Testenhet A")
    page.get_by_role("button", name="Kortkommandon").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Använd kortkommandona").uncheck()
    dialog.get_by_role("button", name="Stäng").click()
    expect(dialog).to_be_hidden()
    page.locator("#ws-list-title").click()
    page.keyboard.press("?")
    expect(dialog).to_be_hidden()


@override_settings(MAILBOX_UNREAD_POLL_SECONDS=2)
def test_a_citizen_message_appears_in_an_open_workspace_without_reload(live_server, page):
    org = factories.Organisation.build()
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?")
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Fråga om besked")
    log_in(page, live_server.url, org.handler_a1.username)
    page.get_by_role("link", name="Kan du ringa mig?").click()
    expect(thread_pane(page)).to_contain_text("Hej! Hur gör vi med detta?")
    expect(page).to_have_title(re.compile(r"^Kan du ringa mig\? – lifemsg$"), timeout=10_000)
    mark_page(page)

    citizen_writes(case, body="Hej, hur går det med mitt ärende?")

    new_row = page.locator("#ws-list .thread-row--unread").filter(has_text="Fråga om besked")
    expect(new_row).to_be_visible(timeout=20_000)
    expect(page.locator(".mb-nav__live")).to_contain_text("1 oläst")
    expect(page.locator("#ws-announce")).to_have_text("1 oläst meddelande i dina brevlådor")
    expect(page).to_have_title(re.compile(r"^\(1\) Kan du ringa mig\? – lifemsg$"))
    # The open thread stays open and marked.
    expect(thread_pane(page)).to_contain_text("Hej! Hur gör vi med detta?")
    expect(page.locator("#ws-list [data-thread-link][aria-current=true]")).to_have_text("Kan du ringa mig?")
    assert same_document(page)
