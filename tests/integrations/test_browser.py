"""The export page in a real browser: keyboard use, the download, and an axe audit (WCAG 2.1 AA)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from absence.routing import route_message
from eservices.services import citizen_message_send
from integrations.models import ThreadExport
from tests import factories

pytestmark = pytest.mark.browser
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def browser_context_args(browser_context_args):
    # A Swedish browser, as the users have: the UI follows Accept-Language.
    return {**browser_context_args, "locale": "sv-SE", "accept_downloads": True}


def audit(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def browser_login(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(lambda url: "logga-in" not in url)


def test_handler_exports_with_the_keyboard_and_the_page_passes_axe(live_server, page, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    for text in ("Första frågan", "Andra frågan"):
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=text)
        route_message(message_id=message.pk)
    browser_login(page, live_server, org.handler_a1.username)

    page.goto(live_server.url + reverse("integrations:export_thread", args=[case.thread_id]))
    assert page.get_by_role("heading", level=1).inner_text() == "Exportera för journalföring"
    audit(page)

    # nothing chosen: an error the user is told about, focusable summary
    for box in page.get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_role("button", name="Skapa PDF").click()
    assert page.get_by_role("alert").is_visible()
    assert "Välj minst ett meddelande att exportera." in page.content()
    audit(page)

    page.get_by_role("checkbox").first.focus()
    page.keyboard.press("Space")
    with page.expect_download() as download:
        page.get_by_role("button", name="Skapa PDF").press("Enter")
    assert download.value.suggested_filename.startswith(case.reference)
    assert ThreadExport.objects.get().message_ids == [case.thread.messages.order_by("created_at").first().pk]


def test_sso_failure_page_passes_axe(live_server, page):
    page.goto(live_server.url + reverse("integrations:sso_failed"))
    assert "organisationskonto misslyckades" in page.get_by_role("heading", level=1).inner_text()
    audit(page)
