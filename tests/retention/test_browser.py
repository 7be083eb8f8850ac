"""In Chromium, with a real Celery worker: a Systemförvaltare changes a retention rule (a mistake is
refused first) and makes a review list; a colleague opens it, approves it and sees the run finish.
Each page passes an axe WCAG 2.1 AA audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from mailboxes.models import Message
from retention_rules.models import RetentionRun
from tests import factories
from tests.mailboxes.conftest import internal_thread, personal

from .conftest import clock

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def purged_queue():
    """Tasks earlier transactional tests left on this Redis db must not reach the live worker."""
    from lifemsg.celery import app

    with app.connection_for_write() as connection:
        app.control.purge(connection=connection)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE"}


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def staff_login(page, base: str, user) -> None:
    page.goto(base + "/logga-in/")
    page.get_by_label("Användarnamn").fill(user.username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.locator("main").get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Välkommen")


def test_a_rule_is_changed_a_colleague_approves_the_list_and_sees_it_done(
    purged_queue, live_celery_worker, live_server, page, browser
):
    page.set_default_timeout(15_000)
    org = factories.Organisation.build()
    colleague = factories.staff(
        roles.SYSTEMFORVALTARE, username="arkiv.ansvarig", first_name="Ada", last_name="Arkiv"
    )
    with clock(timezone.now() - timedelta(days=30)):
        old = internal_thread(org.handler_a2, [personal(org.handler_b1)], subject="Månadsgammal intern")
    base = live_server.url

    staff_login(page, base, org.sysadmin)
    page.goto(base + "/administration/gallring/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gallringsregler")
    assert_accessible(page)
    page.get_by_role("link", name="Ändra regeln för meddelanden i interna trådar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Regel för Meddelanden i interna trådar")
    page.get_by_label("Gallringsfrist").fill("7")
    page.get_by_label("Fristens enhet").select_option("days")
    page.get_by_label("Beslut").fill("")
    page.get_by_role("button", name="Spara regeln").click()
    expect(page.get_by_role("alert")).to_contain_text("Ange beslutet som regeln följer.")
    assert_accessible(page)
    page.get_by_label("Beslut").fill("Arkivmyndighetens beslut dnr KS 2026/88, 2026-12-01")
    page.get_by_role("button", name="Spara regeln").click()
    expect(page.get_by_text("Regeln för meddelanden i interna trådar är sparad.")).to_be_visible()
    expect(
        page.get_by_role("cell", name="Arkivmyndighetens beslut dnr KS 2026/88, 2026-12-01").first
    ).to_be_visible()

    page.get_by_role("link", name="Gallringskörningar").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Gör en granskningslista nu").click()
    expect(page.locator("#run-state")).to_have_text("Väntar på godkännande")
    internal_row = page.get_by_role("row", name="Meddelanden i interna trådar").first
    expect(internal_row).to_contain_text("7 dagar")
    assert_accessible(page)
    # The one who set the rule and made the list is told why someone else must approve it.
    expect(page.get_by_role("button", name="Godkänn och kör")).to_have_count(0)
    expect(page.get_by_text("Du föreslog den här körningen: någon annan måste godkänna den.")).to_be_visible()
    run_url = page.url

    other = browser.new_context(locale="sv-SE").new_page()
    other.set_default_timeout(15_000)
    staff_login(other, base, colleague)
    other.goto(run_url)
    expect(other.get_by_role("cell", name=f"Meddelande {old.pk}")).to_be_visible()
    assert "Månadsgammal" not in other.content()
    other.get_by_role("button", name="Godkänn och kör").click()
    expect(other.get_by_text("Körningen är godkänd och körs i bakgrunden.")).to_be_visible()
    for _ in range(30):
        if RetentionRun.objects.get().state == RetentionRun.State.DONE:
            break
        other.wait_for_timeout(500)
    other.reload()
    expect(other.locator("#run-state")).to_have_text("Klar")
    expect(other.get_by_role("row", name="Meddelanden i interna trådar").first).to_contain_text(
        "meddelanden: 1"
    )
    assert_accessible(other)
    assert not Message.objects.filter(pk=old.pk).exists()
    other.context.close()
