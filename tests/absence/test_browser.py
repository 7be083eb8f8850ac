"""In the browser: a handler plans an absence; an administrator takes a sick call; a group member
takes a forwarded message and the returning handler sees who handled it; the unit overview. Each
page is audited with axe (WCAG 2.1 A/AA)."""

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from absence.models import Absence
from audit.models import AuditEvent
from mailboxes.models import Delivery
from tests import factories
from tests.absence.helpers import citizen_writes

# Transactional without serialized_rollback: see tests/absence/test_worker.py.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _axe(page: Page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def _log_in(page: Page, live_server, user) -> None:
    page.goto(live_server.url + "/logga-in/")
    page.get_by_label("Användarnamn").fill(user.username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))


def test_handler_plans_an_absence(page: Page, live_server, org):
    _log_in(page, live_server, org.handler_a1)
    page.get_by_role("link", name="Min frånvaro").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Min frånvaro")
    _axe(page)

    first = timezone.localdate() + timedelta(days=2)
    last = first + timedelta(days=4)
    page.get_by_label("Första dagen").fill(first.isoformat())
    page.get_by_label("Sista dagen").fill(last.isoformat())
    expect(page.get_by_label("Vidarebefordra mina meddelanden till")).to_have_value(
        str(org.unit_a.group_mailbox.pk)
    )
    page.get_by_label("Frånvarotext till kollegor").fill("Semester, ring Bo vid brådskande ärenden.")
    page.get_by_label("Berätta för medborgare när jag är tillbaka").check()
    page.get_by_role("button", name="Förhandsgranska").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text("Förhandsgranskning – inget är sparat än")
    expect(preview).to_contain_text("Det här är ett automatiskt svar.")
    expect(preview).to_contain_text(f"till och med {last.day} ")
    expect(preview).to_contain_text("Semester, ring Bo vid brådskande ärenden.")
    assert not Absence.objects.exists()
    _axe(page)

    page.get_by_role("button", name="Spara frånvaron").click()
    expect(page.get_by_role("status").first).to_contain_text("Din frånvaro är planerad")
    expect(page.get_by_role("heading", name="Planerade frånvaron")).to_be_visible()
    absence = Absence.objects.get(handler=org.handler_a1)
    assert timezone.localtime(absence.starts_at).date() == first
    assert absence.show_return_date_to_citizens
    _axe(page)

    # Cancel it again (the button asks first).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Avboka").click()
    expect(page.get_by_role("status").first).to_contain_text("avbokad")
    absence.refresh_from_db()
    assert absence.ended_by == org.handler_a1


def test_administrator_takes_a_sick_call(page: Page, live_server, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    unread = citizen_writes(case, "Hej, jag behöver svar snart.")
    _log_in(page, live_server, org.admin)
    page.get_by_role("link", name="Sjukanmälan / vidarebefordran").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sjukanmälan / vidarebefordran")
    _axe(page)

    page.get_by_role("searchbox", name="Sök handläggare").fill("Anna")
    page.get_by_role("button", name="Sök").click()
    page.get_by_role("link", name="Anna Andersson").click()
    expect(page.get_by_role("heading", name="2. Slå på vidarebefordran för Anna Andersson")).to_be_visible()

    # Missing reason: a clear message, nothing lost.
    page.get_by_role("button", name="Slå på vidarebefordran nu").click()
    expect(page.get_by_role("alert")).to_contain_text("Orsak")
    _axe(page)
    page.get_by_label("Orsak").fill("Ringde in sjuk 07.30")
    page.get_by_role("button", name="Slå på vidarebefordran nu").click()

    expect(page.get_by_role("status").first).to_contain_text(
        "Vidarebefordran är påslagen för Anna Andersson. 1 oläst meddelande vidarebefordrades"
    )
    absence = Absence.objects.get(handler=org.handler_a1)
    assert absence.set_by == org.admin and absence.ends_at is None
    assert Delivery.objects.filter(message=unread, mailbox=org.unit_a.group_mailbox).exists()
    row = page.get_by_role("row").filter(has_text="Anna Andersson")
    expect(row).to_contain_text("Borta nu")
    expect(row).to_contain_text("Ringde in sjuk 07.30")
    _axe(page)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Avsluta nu").click()
    expect(page.get_by_role("status").first).to_contain_text("Vidarebefordran är avstängd för Anna Andersson")
    absence.refresh_from_db()
    assert absence.ended_by == org.admin
    actions = set(
        AuditEvent.objects.filter(target_id=str(absence.pk), actor=org.admin).values_list("action", flat=True)
    )
    assert {"absence.create", "absence.start", "absence.end"} <= actions


def test_manager_sees_the_unit_overview(page: Page, live_server, org):
    citizen_writes(factories.case(eservice_obj=org.eservice_a), "Till gruppbrevlådan")
    Absence.objects.create(
        handler=org.handler_a2,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(hours=1),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
        reason="Hemlig orsak",
    )
    _log_in(page, live_server, org.manager_a)
    page.get_by_role("link", name="Enhetsöversikt").click()
    expect(page.get_by_role("heading", name=org.unit_a.name, exact=True)).to_be_visible()
    expect(page.locator(f"#away-{org.unit_a.pk}").get_by_text("Bo Berg")).to_be_visible()
    expect(page.locator(f"#figures-{org.unit_a.pk}")).to_contain_text("Olästa meddelanden")
    expect(page.locator("main")).not_to_contain_text("Hemlig orsak")
    _axe(page)


def test_group_member_takes_the_forwarded_message_and_the_returning_handler_sees_who_handled_it(
    page: Page, live_server, browser, org
):
    from tests.absence.helpers import sick_leave

    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om bostöd")
    sick_leave(org.handler_a1, actor=org.admin, reason="Ringde in sjuk")
    citizen_writes(case, "Hej! Har ni fått mina papper?")
    group_id = org.unit_a.group_mailbox.pk

    # Bo, a member of the unit, finds the message in the group mailbox, marked, and takes it.
    colleague = browser.new_context(locale="sv-SE")
    bo = colleague.new_page()
    _log_in(bo, live_server, org.handler_a2)
    bo.goto(f"{live_server.url}/brevlador/{group_id}/")
    row = bo.locator(".thread-row").filter(has_text="Ansökan om bostöd")
    expect(row).to_contain_text("vidarebefordrat — Anna Andersson frånvarande")
    _axe(bo)
    row.get_by_role("link", name="Ansökan om bostöd").click()
    expect(bo.get_by_text("Hej! Har ni fått mina papper?")).to_be_visible()
    bo.get_by_role("button", name="Jag tar den").click()
    expect(bo.locator(".work-state")).to_contain_text("tas om hand av Bo Berg")
    bo.get_by_role("button", name="Markera som hanterad").click()
    expect(bo.locator(".work-state")).to_contain_text("hanterat av Bo Berg")
    colleague.close()

    # Anna comes back: she sees who switched forwarding on, ends her absence, and finds her own copy
    # still in her mailbox, showing that Bo handled it.
    _log_in(page, live_server, org.handler_a1)
    page.get_by_role("link", name="Min frånvaro").click()
    expect(page.locator("main")).to_contain_text("Erik Ek")
    expect(page.locator("main")).not_to_contain_text("Ringde in sjuk")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Jag är tillbaka – avsluta frånvaron nu").click()
    expect(page.get_by_role("status").first).to_contain_text("Din frånvaro är avslutad")
    expect(page.get_by_role("status").last).to_contain_text("Erik Ek slog på vidarebefordran")
    page.get_by_role("link", name="Se vad som hände med dina meddelanden").click()
    expect(page.get_by_role("row").filter(has_text="Ansökan om bostöd")).to_contain_text(
        "Hanterat av Bo Berg"
    )
    _axe(page)

    page.goto(f"{live_server.url}/brevlador/")
    page.get_by_role("link", name="Min brevlåda").click()
    own = page.locator(".thread-row").filter(has_text="Ansökan om bostöd")
    expect(own).to_contain_text("hanterat av Bo Berg")
