"""In Chromium: a handler's sick call has ended; a colleague who read along in the group mailbox
opens the old thread again and finds the notice that the case is handled by someone else now, not
the citizen's new message (guarantee 9)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from absence.models import Absence
from absence.services import absence_create, absence_end
from tests import factories
from tests.mailboxes.conftest import citizen_writes, group
from tests.mailboxes.test_browser import assert_accessible, browser_context_args, log_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_colleague_sees_the_handled_elsewhere_notice_instead_of_the_new_message(live_server, page):
    org = factories.Organisation.build()
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        subject="Ansökan om stöd",
    )
    absence = absence_create(
        handler=org.handler_a1,
        actor=org.admin,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=group(org.unit_a),
    )
    citizen_writes(case, body="Hej, jag behöver svar om min ansökan.")
    absence_end(absence=absence, actor=org.admin)  # Anna is back
    citizen_writes(case, body="Nu har jag fått nytt jobb och flyttar.")

    log_in(page, live_server.url, org.handler_a2.username)
    page.goto(live_server.url + f"/brevlador/{group(org.unit_a).pk}/")
    page.get_by_role("link", name="Ansökan om stöd").click()
    messages = page.get_by_role("region", name="Meddelanden")
    expect(messages).to_contain_text("Hej, jag behöver svar om min ansökan.")
    expect(messages).not_to_contain_text("nytt jobb")
    notice = page.get_by_role("note")
    expect(notice).to_contain_text("Senare meddelanden i tråden visas inte för dig")
    expect(notice).to_contain_text("Ärendet handläggs nu av Anna Andersson.")
    assert_accessible(page)
