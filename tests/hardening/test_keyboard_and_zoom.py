"""Keyboard-only use (Tab, Enter, typing; no clicks) with a visible focus on every stop; unread counts
in a live region; no horizontal scrolling at 320 CSS px (WCAG 1.4.10 reflow) or at 200 % zoom."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from eservices.models import ConversationTopic, EService
from mailboxes.models import Message
from tests import factories
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "test-password-123"

FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "nothing focused";
  const s = getComputedStyle(el);
  const outlined = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  const ringed = s.boxShadow && s.boxShadow !== "none";
  return outlined || ringed ? "" : `no visible focus on <${el.tagName.toLowerCase()} ${el.className}>`;
}"""


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE"}


def tab_to(page, selector: str, max_tabs: int = 80) -> None:
    """Press Tab until the element matching `selector` has focus; every stop must show its focus."""
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        problem = page.evaluate(FOCUS_VISIBLE)
        assert problem in ("", "nothing focused"), problem
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            assert problem == ""
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_handlaggare_sends_an_internal_message_by_keyboard_only(live_server, page):
    org = factories.Organisation.build()
    internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?")
    page.goto(live_server.url + reverse("accounts:login"))
    tab_to(page, "input[name=username]")
    page.keyboard.type(org.handler_a1.username)
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))

    tab_to(page, f"a[href='{reverse('mailboxes:index')}']")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("mailboxes:index"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The unread counts are announced: they sit in a polite live region.
    live = page.locator("[aria-live=polite]").filter(has_text="1 oläst")
    expect(live.first).to_be_visible()

    tab_to(page, f"a[href='{reverse('mailboxes:compose')}']")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("mailboxes:compose"))
    expect(page.get_by_role("heading", level=1, name="Nytt meddelande")).to_be_visible()
    tab_to(page, "select[name=recipients]")
    page.keyboard.type("Bo Berg")  # type-ahead picks the colleague in the list box
    chosen = page.evaluate(
        "() => [...document.querySelector('select[name=recipients]').selectedOptions].map(o => o.text)"
    )
    assert any("Bo Berg" in text for text in chosen), chosen
    tab_to(page, "input[name=subject]")
    page.keyboard.type("Möte i morgon")
    tab_to(page, "textarea[name=body]")
    page.keyboard.type("Hej Bo! Kan vi ses klockan nio?")
    tab_to(page, "button[name=action][value=send]")
    page.keyboard.press("Enter")
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Ditt meddelande har skickats.")
    message = Message.objects.get(body="Hej Bo! Kan vi ses klockan nio?")
    assert message.sender == org.handler_a1 and message.thread.subject == "Möte i morgon"


def test_citizen_writes_a_message_by_keyboard_only(live_server, page):
    org = factories.Organisation.build()
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd")
    page.goto(live_server.url + reverse("eservices:login"))
    tab_to(page, "input[name=personnummer]")
    page.keyboard.type(case.citizen.personnummer)
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("eservices:portal"))
    tab_to(page, f"a[href='{reverse('eservices:case', args=[case.pk])}']")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + reverse("eservices:case", args=[case.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ansökan om stöd")
    tab_to(page, "textarea[name=body]")
    page.keyboard.type("Hej! Jag skickar mitt svar med bara tangentbordet.")
    tab_to(page, "section.write button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Ditt meddelande har skickats.")).to_be_visible()
    message = Message.objects.get(body="Hej! Jag skickar mitt svar med bara tangentbordet.")
    assert message.thread_id == case.thread_id and message.sender == case.citizen.user


# --- reflow: 320 px and 200 % zoom --------------------------------------------------------------


def _cookie(user, base_url: str) -> list[dict]:
    client = Client()
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth"


@pytest.mark.parametrize("width", [320, 640])  # 640 CSS px = a 1280 px screen at 200 % zoom
def test_main_pages_need_no_horizontal_scrolling(live_server, browser, width):
    org = factories.Organisation.build()
    case = factories.case(
        eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om ekonomiskt bistånd"
    )
    citizen_writes(case, body="Ett längre meddelande med en lång länk https://example.org/" + "a" * 80)
    internal = internal_thread(
        org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig om ärendet?"
    )
    startable = EService.objects.create(
        name="Meddelande IFO", slug="meddelande-ifo", unit=org.unit_a, citizen_can_start=True
    )
    ConversationTopic.objects.create(eservice=startable, topic="adults", unit=org.unit_a, position=0)
    base = live_server.url
    mine = personal(org.handler_a1)
    staff_pages = [
        reverse("accounts:home"),
        reverse("mailboxes:index"),
        reverse("mailboxes:mailbox", args=[mine.pk]),
        reverse("mailboxes:mailbox", args=[group(org.unit_a).pk]),
        reverse("mailboxes:thread", args=[mine.pk, internal.thread_id]),
        reverse("mailboxes:case_thread", args=[case.pk]),
        reverse("mailboxes:compose"),
        reverse("mailboxes:search") + "?q=ringa",
    ]
    manager_pages = [reverse("eservices:staff_cases"), reverse("eservices:staff_case_assign", args=[case.pk])]
    citizen_pages = [
        reverse("eservices:portal"),
        reverse("eservices:case", args=[case.pk]),
        reverse("eservices:conversation_start", args=[startable.slug]),
        reverse("eservices:settings"),
    ]
    anonymous_pages = [reverse("accounts:login"), reverse("eservices:login"), "/tillganglighet/"]
    too_wide = []
    for user, pages in [
        (org.handler_a1, staff_pages),
        (org.manager_a, manager_pages),
        (case.citizen.user, citizen_pages),
        (None, anonymous_pages),
    ]:
        context = browser.new_context(locale="sv-SE", viewport={"width": width, "height": 640})
        if user is not None:
            context.add_cookies(_cookie(user, base))
        page = context.new_page()
        for url in pages:
            response = page.goto(base + url)
            assert response.status == 200, url
            scroll_width = page.evaluate(NO_SIDEWAYS_SCROLL)
            if scroll_width > width:
                widest = page.evaluate(
                    """(w) => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > w + 1)
                        .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
                    width,
                )
                too_wide.append(f"{url}: {scroll_width}px {widest}")
        context.close()
    assert not too_wide, "\n".join(too_wide)
