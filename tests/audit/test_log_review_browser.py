"""In the browser: a log reviewer finds a citizen's reads by personnummer and exports them; a
handläggare is refused; the pages pass an axe WCAG 2.1 AA audit."""

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from audit.models import AccessLogEntry
from tests import factories

from .conftest import read_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Swedish is what staff see; the browser's own language would otherwise choose English.
    return {**browser_context_args, "locale": "sv-SE", "accept_downloads": True}


WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def staff_login(page, live_server, user) -> None:
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/logga-in/")
    page.get_by_label("Användarnamn").fill(user.username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def test_log_reviewer_searches_a_personnummer_sees_the_handlers_reads_and_exports_csv(live_server, page):
    org = factories.Organisation.build()
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    read_thread(org.handler_a1, case)
    read_thread(org.handler_a1, case, action=AccessLogEntry.Action.READ_MESSAGE)
    unrelated = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2)
    read_thread(org.handler_a2, unrelated)
    number = case.citizen.personnummer_formatted

    staff_login(page, live_server, org.log_reviewer)
    page.get_by_role("link", name="Granskning av åtkomstloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sök i åtkomstloggen")
    assert_accessible(page)

    page.get_by_label("Medborgarens personnummer").fill(number)
    page.get_by_role("button", name="Sök", exact=True).click()
    expect(page.get_by_role("heading", name="2 poster")).to_be_visible()
    table = page.get_by_role("table", name="Poster i åtkomstloggen")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("Anna Andersson")
    expect(table).to_contain_text("Läste meddelande")
    expect(table).not_to_contain_text("Bo Berg")
    # What was typed stays in the form; the number is not in the address.
    expect(page.get_by_label("Medborgarens personnummer")).to_have_value(number)
    assert case.citizen.personnummer not in page.url and number not in page.url
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Exportera som CSV").click()
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Post nr;Tid;Användarnamn;Medarbetare")
    # The two reads, and the reviewer's own search a moment ago (reviews are reviewable too).
    assert len(lines) == 4
    assert sum("Anna Andersson" in line and number in line for line in lines) == 2
    assert sum("Hans Holm" in line and "Sökte;Loggranskning" in line for line in lines) == 1

    logged = list(
        AccessLogEntry.objects.filter(user=org.log_reviewer).order_by("seq").values_list("action", "route")
    )
    assert logged == [("search", "log_review"), ("export", "log_review")]


def test_handlaggare_gets_403_on_the_log_pages(live_server, page):
    org = factories.Organisation.build()
    staff_login(page, live_server, org.handler_a1)
    expect(page.get_by_role("link", name="Granskning av åtkomstloggen")).to_have_count(0)
    for path in (
        "/logg/",
        "/logg/export.csv",
        "/logg/kontroller/",
        "/logg/stickprov/",
        "/logg/granskningar/",
    ):
        response = page.goto(live_server.url + path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Du har inte behörighet till den här sidan")


def test_membership_pages_and_citizen_extract_pass_axe(live_server, page):
    org = factories.Organisation.build()
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    read_thread(org.handler_a1, case)
    staff_login(page, live_server, org.superuser)
    page.get_by_role("link", name="Enheter, medlemmar och roller").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enheter och medarbetare")
    assert_accessible(page)
    page.get_by_role("link", name="IFO Testenhet A").click()
    expect(page.get_by_role("heading", name="3 medarbetare")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Medarbetare att lägga till").select_option(
        label=f"Carlsson, Cilla ({org.handler_b1.username})"
    )
    page.get_by_role("button", name="Lägg till").click()
    expect(page.get_by_role("status")).to_contain_text("Cilla Carlsson tillhör nu IFO Testenhet A")
    expect(page.get_by_role("heading", name="4 medarbetare")).to_be_visible()
    page.get_by_role("link", name="Ta bort Cilla Carlsson").click()
    page.get_by_role("button", name="Ta bort från enheten").click()
    expect(page.get_by_role("status")).to_contain_text("Cilla Carlsson tillhör inte längre IFO Testenhet A")
    assert_accessible(page)
    page.get_by_role("link", name="Personal och roller").click()
    page.get_by_role("link", name="Anna Andersson").click()
    page.get_by_label("Loggranskare").check()
    page.get_by_role("button", name="Spara roller").click()
    expect(page.get_by_role("status")).to_contain_text("Rollerna för Anna Andersson har ändrats")
    assert_accessible(page)

    page.get_by_role("button", name="Logga ut").click()
    page.goto(live_server.url + "/medborgare/logga-in/")
    page.get_by_label("Personnummer").fill(case.citizen.personnummer)
    page.get_by_role("button", name="Logga in").click()
    page.goto(live_server.url + "/medborgare/logguttag/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vem har öppnat mina meddelanden")
    expect(page.get_by_role("table")).to_contain_text("Handläggarens arbete med ditt ärende")
    expect(page.get_by_role("table")).not_to_contain_text("Anna")
    assert_accessible(page)
