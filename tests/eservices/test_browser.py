"""End to end in Chromium: a citizen logs in with the test e-ID, writes in a case, the message reaches
the handler's personal mailbox through a real Celery worker, the handler opens it in the staff inbox and
replies there, the citizen sees the reply, and the e-mail notification says nothing about the case.
A file chosen before an error is kept for the send. Plus axe audits of every page."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from playwright.sync_api import expect

from eservices.models import Citizen
from eservices.services import citizen_notification_settings_update, staff_message_send
from mailboxes.models import Delivery, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import wait_for
from tests.eservices.conftest import PDF_BYTES

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def citizen_login(page, live_server, citizen) -> None:
    page.goto(live_server.url + "/medborgare/logga-in/")
    page.get_by_label("Personnummer").fill(citizen.personnummer_formatted)
    page.get_by_role("button", name="Logga in (test)").click()
    expect(page.get_by_role("heading", level=1, name="Mina meddelanden")).to_be_visible()


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_citizen_writes_handler_receives_and_replies_citizen_is_notified_without_content(
    purged_queue, live_celery_worker, live_server, page, browser, live_org
):
    org = live_org
    citizen = factories.citizen(first="Alva", last="Lindqvist")
    citizen_notification_settings_update(
        citizen=citizen, channel=Citizen.Channel.EMAIL, email="alva@example.invalid"
    )
    case = factories.case(
        citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd"
    )
    citizen_text = "Hej! Jag har skickat in kontoutdrag för oktober."
    reply_text = "Tack Alva, vi har fått kontoutdraget och beslutar på fredag."

    citizen_login(page, live_server, citizen)
    page.get_by_role("link", name="Ansökan om stöd").click()
    expect(page.get_by_role("heading", level=1, name="Ansökan om stöd")).to_be_visible()
    page.get_by_label("Ditt meddelande").fill(citizen_text)
    page.get_by_role("button", name="Skicka", exact=True).click()
    expect(page.get_by_text("Ditt meddelande har skickats.")).to_be_visible()
    expect(page.get_by_text(citizen_text)).to_be_visible()

    # The worker routes it to the handler's personal mailbox.
    message = Message.objects.get(thread=case.thread, body=citizen_text)
    personal = mailbox_personal_for(org.handler_a1)
    assert wait_for(lambda: Delivery.objects.filter(message=message, mailbox=personal).exists())
    assert Delivery.objects.filter(message=message).count() == 1

    # The handler finds it in their inbox and replies there, in their own browser.
    staff = browser.new_context(locale="sv-SE").new_page()
    staff.goto(live_server.url + "/logga-in/")
    staff.get_by_label("Användarnamn").fill(org.handler_a1.username)
    staff.get_by_label("Lösenord").fill("test-password-123")
    staff.locator("main").get_by_role("button", name="Logga in").click()
    staff.goto(live_server.url + "/brevlador/")
    staff.get_by_role("link", name="Min brevlåda").first.click()
    staff.get_by_role("link", name="Ansökan om stöd").click()
    expect(staff.get_by_text(citizen_text)).to_be_visible()
    staff.get_by_label("Meddelande till medborgaren").fill(reply_text)
    staff.get_by_role("button", name="Skicka till medborgaren").click()
    expect(staff.get_by_text(reply_text)).to_be_visible()
    staff.context.close()
    assert Message.objects.filter(thread=case.thread, body=reply_text, sender=org.handler_a1).exists()
    assert wait_for(lambda: len(mail.outbox) == 1, timeout=20)

    page.reload()
    reply = page.locator("article.message--theirs").filter(has_text=reply_text)
    expect(reply).to_be_visible()
    expect(reply.get_by_text("Från Anna Andersson, socialtjänsten")).to_be_visible()
    expect(reply.get_by_text("Nytt", exact=True)).to_be_visible()

    email = mail.outbox[0]
    assert email.to == ["alva@example.invalid"]
    for secret in (
        citizen_text,
        reply_text,
        "kontoutdrag",
        org.unit_a.name,
        "Anna",
        "Andersson",
        case.reference,
    ):
        assert secret not in email.subject and secret not in email.body, secret


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_file_is_kept_after_an_error_and_sent_with_the_message(live_server, page, live_org):
    org = live_org
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd")
    text = "Här är kontoutdraget för oktober."

    citizen_login(page, live_server, case.citizen)
    page.get_by_role("link", name="Ansökan om stöd").click()
    page.get_by_label("Bilagor", exact=True).set_input_files(
        files=[{"name": "kontoutdrag.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Skicka", exact=True).click()  # no text yet
    expect(page.get_by_text("Skriv ett meddelande innan du skickar.").first).to_be_visible()
    kept = page.get_by_role("group", name="Filer som redan är tillagda")
    expect(kept.get_by_role("checkbox", name="kontoutdrag.pdf")).to_be_checked()
    assert_accessible(page)

    page.get_by_label("Ditt meddelande").fill(text)
    page.get_by_role("button", name="Skicka", exact=True).click()
    expect(page.get_by_text("Ditt meddelande har skickats.")).to_be_visible()
    sent = page.locator("article.message--mine").filter(has_text=text)
    expect(sent.get_by_role("link", name="kontoutdrag.pdf")).to_be_visible()
    expect(page.get_by_role("group", name="Filer som redan är tillagda")).to_have_count(0)
    message = Message.objects.get(thread=case.thread, body=text)
    assert [a.filename for a in message.attachments.all()] == ["kontoutdrag.pdf"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_pages_pass_axe_on_a_phone(live_server, page, live_org):
    org = live_org
    page.set_viewport_size({"width": 390, "height": 844})
    from eservices.models import ConversationTopic, EService

    ifo = EService.objects.create(
        name="Meddelande IFO – barn och familj samt vuxen",
        slug="meddelande-ifo",
        unit=org.unit_a,
        citizen_can_start=True,
    )
    ConversationTopic.objects.create(eservice=ifo, topic="children_family", unit=org.unit_a, position=0)
    ConversationTopic.objects.create(eservice=ifo, topic="adults", unit=org.unit_b, position=1)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd")
    staff_message_send(case=case, sender=org.handler_a1, body="Svar från handläggaren")

    page.goto(live_server.url + "/medborgare/logga-in/")
    assert_accessible(page)
    citizen_login(page, live_server, case.citizen)
    assert_accessible(page)
    page.get_by_role("link", name="Ansökan om stöd").click()
    assert_accessible(page)
    page.get_by_role("button", name="Skicka", exact=True).click()  # empty: error summary
    expect(page.get_by_text("Skriv ett meddelande innan du skickar.").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Nytt meddelande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Meddelande IFO"))
    assert_accessible(page)
    page.get_by_label(re.compile("^Vuxen")).check()
    page.get_by_label("Ämne").fill("Boende")
    page.get_by_label("Ditt meddelande").fill("Jag behöver hjälp med boende.")
    page.get_by_role("button", name="Skicka meddelande").click()
    expect(page.get_by_text("Ditt meddelande har skickats.")).to_be_visible()
    expect(page.get_by_text("Jag behöver hjälp med boende.")).to_be_visible()

    page.get_by_role("link", name="Aviseringar").click()
    page.get_by_label("E-post", exact=True).check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Ange den e-postadress vi ska skriva till.").first).to_be_visible()
    assert_accessible(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_case_assignment_pages_pass_axe_and_assign(live_server, page, live_org):
    org = live_org
    case = factories.case(eservice_obj=org.eservice_a, handler=None, subject="Väntar")
    page.goto(live_server.url + "/logga-in/")
    page.get_by_label("Användarnamn").fill(org.manager_a.username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.locator("main").get_by_role("button", name="Logga in").click()
    page.goto(live_server.url + "/arenden/")
    expect(page.get_by_role("heading", level=1, name="Ärenden och handläggare")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Bara ärenden utan handläggare").check()
    page.get_by_role("button", name="Visa").click()
    page.get_by_role("link", name=f"Ändra handläggare för {case.reference}").click()
    assert_accessible(page)
    page.get_by_label("Handläggare", exact=True).select_option(label="Anna Andersson")
    page.get_by_label("Bo Berg").check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text(f"Handläggare sparade för ärende {case.reference}.")).to_be_visible()
    case.refresh_from_db()
    assert case.handler == org.handler_a1
    assert list(case.co_handlers.all()) == [org.handler_a2]
