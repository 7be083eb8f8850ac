"""In the browser: the unit manager's overview shows the 30-day charts with their tables and this
week's away timeline; axe (WCAG 2.1 A/AA) finds nothing, with a table opened too."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests import factories
from tests.absence.helpers import citizen_writes, sick_leave
from tests.absence.test_browser import _axe, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sees_the_charts_their_tables_and_the_week(page: Page, live_server, org):
    citizen_writes(factories.case(eservice_obj=org.eservice_a), "Till gruppbrevlådan")
    sick_leave(
        org.handler_a2, actor=org.admin, ends_at=timezone.now() + timedelta(days=2), reason="Hemlig orsak"
    )
    _log_in(page, live_server, org.manager_a)
    page.get_by_role("link", name="Enhetsöversikt").click()

    unread = page.get_by_role("figure", name="Olästa meddelanden vid slutet av varje dag, senaste 30 dagarna")
    expect(unread).to_be_visible()
    expect(unread.get_by_role("img", name="Olästa meddelanden vid slutet av varje dag")).to_be_visible()
    expect(page.locator("figure.chart svg rect.chart__bar")).not_to_have_count(0)
    expect(page.locator("figure.chart")).to_have_count(3)

    unread.get_by_text("Visa siffrorna som tabell").click()
    table = unread.get_by_role("table")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Olästa")).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(31)
    expect(table.get_by_role("row").last.get_by_role("cell")).to_have_text("1")

    week = page.get_by_role("table", name="Vem som är borta den här veckan, måndag till söndag")
    expect(week.get_by_role("rowheader", name="Bo Berg")).to_be_visible()
    expect(week).to_contain_text("Del av dagen")
    expect(page.locator("main")).not_to_contain_text("Hemlig orsak")
    _axe(page)
