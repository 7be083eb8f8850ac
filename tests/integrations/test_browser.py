"""Journalföring in a real browser: the handler journalför, the case system acknowledges, the
receipt shows on the thread; the unit manager's download by keyboard; axe audits (WCAG 2.1 AA)."""

from __future__ import annotations

from unittest import mock

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone

from absence.routing import route_message
from eservices.services import case_create, citizen_message_send
from integrations.casefile import case_file_attempt
from integrations.models import CaseFileEntry, ThreadExport
from integrations.tasks import deliver_case_file
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


def test_handler_journalfor_and_the_receipt_appears_on_the_thread(live_server, page, org, case_system):
    system, _api = case_system
    case = case_create(
        citizen=factories.citizen(),
        eservice=org.eservice_a,
        subject="Hyra",
        handler=org.handler_a1,
        external_id="LC-2026-17",
    )
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Första frågan")
    route_message(message_id=message.pk)
    browser_login(page, live_server, org.handler_a1.username)
    page.goto(live_server.url + reverse("mailboxes:case_thread", args=[case.pk]))
    assert "Inte journalförd ännu." in page.content()

    page.get_by_role("link", name="Journalför").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Exportera för journalföring"
    assert page.get_by_role("button", name="Ladda ner PDF").count() == 0  # not for a case worker
    audit(page)
    with mock.patch.object(deliver_case_file, "delay") as delay:
        page.get_by_role("button", name="Journalför").click()
        page.wait_for_url(live_server.url + reverse("mailboxes:case_thread", args=[case.pk]))
    panel = page.get_by_role("region", name="Journalföring")
    assert "Väntar på kvittens:" in panel.inner_text()
    audit(page)

    # What the worker does with the enqueued task: the case system files it and answers its receipt.
    assert case_file_attempt(**delay.call_args.kwargs) is None
    assert len(system.received) == 1 and system.refused == 0
    page.reload()
    entry = CaseFileEntry.objects.get()
    when = timezone.localtime(entry.acknowledged_at).strftime("%Y-%m-%d %H:%M")
    assert f"Journalförd i ärende LC-2026-17, {when}, av Anna Andersson." in panel.inner_text()
    audit(page)


def test_unit_manager_downloads_with_the_keyboard_and_the_page_passes_axe(live_server, page, org):
    case = factories.case(eservice_obj=org.eservice_a)  # no handler: unit A's group mailbox
    for text in ("Första frågan", "Andra frågan"):
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=text)
        route_message(message_id=message.pk)
    browser_login(page, live_server, org.manager_a.username)

    page.goto(live_server.url + reverse("integrations:export_thread", args=[case.thread_id]))
    assert page.get_by_role("heading", level=1).inner_text() == "Exportera för journalföring"
    assert "Inget ärendesystem är anslutet för journalföring." in page.content()
    audit(page)

    # nothing chosen: an error the user is told about, focusable summary
    for box in page.get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_role("button", name="Ladda ner PDF").click()
    assert page.get_by_role("alert").is_visible()
    assert "Välj minst ett meddelande att exportera." in page.content()
    audit(page)

    page.get_by_role("checkbox").first.focus()
    page.keyboard.press("Space")
    with page.expect_download() as download:
        page.get_by_role("button", name="Ladda ner PDF").press("Enter")
    assert download.value.suggested_filename.startswith(case.reference)
    assert ThreadExport.objects.get().message_ids == [case.thread.messages.order_by("created_at").first().pk]


def test_sso_failure_page_passes_axe(live_server, page):
    page.goto(live_server.url + reverse("integrations:sso_failed"))
    assert "organisationskonto misslyckades" in page.get_by_role("heading", level=1).inner_text()
    audit(page)
