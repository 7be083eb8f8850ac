"""In Chromium: a draft survives a reload; a saved reply is inserted and sent; the saved-reply and
reminder pages pass axe (WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mailboxes.models import Message
from replies.models import Draft
from replies.services import saved_reply_create
from tests import factories
from tests.mailboxes.conftest import citizen_writes, personal
from tests.mailboxes.test_browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE"}


def _citizen_thread(org):
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        subject="Ansökan om stöd",
    )
    citizen_writes(case, "Hej, när får jag besked?")
    return case, f"/brevlador/{personal(org.handler_a1).pk}/trad/{case.thread_id}/"


def test_a_draft_survives_a_reload(live_server, page):
    org = factories.Organisation.build()
    case, url = _citizen_thread(org)
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + url)
    field = page.get_by_label("Meddelande till medborgaren")
    field.fill("Hej Greta! Beslutet kommer")
    expect(page.get_by_role("status").filter(has_text="Utkast sparat")).to_have_text(
        re.compile(r"Utkast sparat \d\d:\d\d")
    )
    assert_accessible(page)

    page.reload()
    expect(page.get_by_label("Meddelande till medborgaren")).to_have_value("Hej Greta! Beslutet kommer")
    expect(page.get_by_text(re.compile(r"Utkast sparat \d\d:\d\d"))).to_be_visible()

    # Sent: the draft is gone, the form is empty after the next load.
    page.get_by_label("Meddelande till medborgaren").fill("Hej Greta! Beslutet kommer på fredag.")
    page.get_by_role("button", name="Skicka till medborgaren").click()
    expect(page.get_by_text("Ditt meddelande har skickats till medborgaren.")).to_be_visible()
    expect(page.get_by_label("Meddelande till medborgaren")).to_have_value("")
    assert not Draft.objects.exists()


def test_a_saved_reply_is_inserted_and_sent(live_server, page):
    org = factories.Organisation.build()
    saved_reply_create(
        unit=org.unit_a,
        title="Bekräftelse",
        body="Vi har tagit emot ditt meddelande. Hälsningar {handläggare}, {enhet}",
        actor=org.manager_a,
    )
    case, url = _citizen_thread(org)
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + url)
    page.get_by_label("Meddelande till medborgaren").fill("Hej Greta!")
    page.get_by_label("Sparat svar").select_option(label="Bekräftelse")
    page.get_by_role("button", name="Infoga").click()
    expected = "Hej Greta!\n\nVi har tagit emot ditt meddelande. Hälsningar Anna Andersson, IFO Testenhet A"
    field = page.get_by_label("Meddelande till medborgaren")
    expect(field).to_have_value(expected)
    expect(field).to_be_focused()
    assert_accessible(page)
    page.get_by_role("button", name="Skicka till medborgaren").click()
    expect(page.get_by_text("Ditt meddelande har skickats till medborgaren.")).to_be_visible()
    sent = Message.objects.filter(thread=case.thread, sender=org.handler_a1).get()
    assert sent.body.replace("\r\n", "\n") == expected  # a browser posts a textarea's lines with CRLF


def test_a_saved_reply_at_the_keyboard_only(live_server, page):
    """i chooses a saved reply, Tab reaches Insert, Enter inserts and puts the cursor in the text,
    Ctrl+Enter sends (the workspace's keys)."""
    org = factories.Organisation.build()
    saved_reply_create(unit=org.unit_a, title="Kvittens", body="Tack! /{handläggare}", actor=org.manager_a)
    saved_reply_create(
        unit=org.unit_a, title="Bekräftelse", body="Vi hör av oss. /{handläggare}", actor=org.manager_a
    )
    case, url = _citizen_thread(org)
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + url)
    page.keyboard.press("i")
    expect(page.get_by_label("Sparat svar")).to_be_focused()
    page.keyboard.press("ArrowDown")  # Bekräftelse, Kvittens: the second
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Infoga")).to_be_focused()
    page.keyboard.press("Enter")
    field = page.get_by_label("Meddelande till medborgaren")
    expect(field).to_have_value("Tack! /Anna Andersson")
    expect(field).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Ditt meddelande har skickats till medborgaren.")).to_be_visible()
    assert Message.objects.filter(
        thread=case.thread, sender=org.handler_a1, body="Tack! /Anna Andersson"
    ).exists()


def test_the_unit_manager_keeps_saved_replies_and_the_pages_are_accessible(live_server, page):
    org = factories.Organisation.build()
    base = live_server.url
    log_in(page, base, org.manager_a.username)
    page.goto(base + "/svar/sparade/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sparade svar")
    assert_accessible(page)
    page.get_by_role("link", name="Nytt sparat svar").click()
    assert_accessible(page)
    page.get_by_label("Rubrik").fill("Tack")
    page.get_by_label("Text").fill("Tack för ditt meddelande. /{handläggare}")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Det sparade svaret har skapats.")).to_be_visible()
    page.get_by_role("link", name="Ta bort Tack").click()
    assert_accessible(page)
    page.get_by_role("button", name="Ta bort").click()
    expect(page.get_by_text("Det finns inga sparade svar ännu.")).to_be_visible()


def test_the_reminder_setting_page_is_accessible(live_server, page):
    org = factories.Organisation.build()
    log_in(page, live_server.url, org.handler_a1.username)
    page.goto(live_server.url + "/svar/paminnelse/")
    assert_accessible(page)
    page.get_by_label(re.compile("Mejla mig på arbetsdagar")).check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Ditt val har sparats.")).to_be_visible()
    expect(page.get_by_label(re.compile("Mejla mig på arbetsdagar"))).to_be_checked()
    assert_accessible(page)
