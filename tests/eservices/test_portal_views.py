"""The citizen portal: own cases only (404 for anyone else's, whatever the id), internal notes never
shown, read state, writing with attachments, starting a conversation, notification settings."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from absence.models import Absence
from eservices.models import Case, Citizen
from eservices.services import case_assign, citizen_message_write, staff_message_send
from mailboxes.attachments import validate_upload
from mailboxes.models import Attachment, Delivery, Message, Thread
from mailboxes.services import message_store
from tests import factories
from tests.eservices.conftest import PDF_BYTES, login_citizen, pdf_upload

pytestmark = pytest.mark.django_db

# A citizen's plain send (no files) through the portal: the session with its user, and the message
# with the check that the case is the citizen's own and open and its thread's update (one statement,
# a transaction of its own); the ingest benchmark posts exactly this.
SEND_QUERIES = 2


def _fresh(user):
    # guardian caches object permissions on the user instance
    return type(user).objects.get(pk=user.pk)


def _with_attachment(case, sender_user, body="Se bilaga"):
    upload = pdf_upload()
    return citizen_message_write(
        case=case, citizen_user=sender_user, body=body, files=[(upload, validate_upload(upload))]
    )


# --- portal and thread ---------------------------------------------------------------------------


def test_portal_lists_own_cases_grouped_by_eservice_with_unread_count(client, org, case_a):
    other_es = factories.eservice(org.unit_b, name="Ansökan om stöd till äldre")
    second = factories.case(citizen_obj=case_a.citizen, eservice_obj=other_es, subject="Hemtjänst")
    staff_message_send(case=case_a, sender=org.handler_a1, body="Svar 1")
    staff_message_send(case=case_a, sender=org.handler_a1, body="Svar 2")
    strangers_case = factories.case(eservice_obj=org.eservice_a, subject="Någon annans ärende")
    body = login_citizen(client, case_a.citizen).get(reverse("eservices:portal")).content.decode()
    assert f'<h2 id="es-{org.eservice_a.pk}">{org.eservice_a.name}</h2>' in body
    assert "Ansökan om stöd till äldre" in body
    assert "Ansökan om stöd" in body and "Hemtjänst" in body
    assert "2 olästa" in body
    assert "Du har 2 olästa meddelanden." in body
    assert strangers_case.thread.subject not in body
    assert second.reference in body


def test_portal_query_count_is_flat(client, org, django_assert_max_num_queries):
    citizen = factories.citizen()
    factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a)
    login_citizen(client, citizen)
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("eservices:portal"))
    for n in range(6):
        case = factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)
        staff_message_send(case=case, sender=org.handler_a1, body=f"Svar {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("eservices:portal"))


def test_thread_hides_internal_notes_and_marks_automatic_messages(client, org, case_a):
    message_store(thread=case_a.thread, sender=case_a.citizen.user, body="Min fråga")
    message_store(
        thread=case_a.thread,
        sender=org.handler_a1,
        body="INTERN ANTECKNING om familjen",
        kind=Message.Kind.NOTE,
    )
    message_store(
        thread=case_a.thread,
        sender=None,
        body="Vi har tagit emot ditt meddelande.",
        kind=Message.Kind.AUTOMATIC,
    )
    staff_message_send(case=case_a, sender=org.handler_a1, body="Hej, här är svaret.")
    body = (
        login_citizen(client, case_a.citizen)
        .get(reverse("eservices:case", args=[case_a.pk]))
        .content.decode()
    )
    assert "INTERN ANTECKNING" not in body
    assert "Min fråga" in body and "Du skrev" in body
    assert "message--automatic" in body and "Automatiskt meddelande" in body
    assert "Hej, här är svaret." in body and "Från Anna Andersson, socialtjänsten" in body


def test_opening_the_thread_marks_it_read_for_the_citizen(client, org, case_a):
    staff_message_send(case=case_a, sender=org.handler_a1, body="Svar")
    login_citizen(client, case_a.citizen)
    first = client.get(reverse("eservices:case", args=[case_a.pk])).content.decode()
    assert "badge--new" in first
    case_a.refresh_from_db()
    assert case_a.citizen_last_read_at == Message.objects.get(thread=case_a.thread).created_at
    portal = client.get(reverse("eservices:portal")).content.decode()
    assert "Du har inga olästa meddelanden." in portal and "badge--unread" not in portal
    assert "badge--new" not in client.get(reverse("eservices:case", args=[case_a.pk])).content.decode()


def test_citizen_writes_a_message_with_attachment_and_sees_it_as_sent(client, org, case_a):
    login_citizen(client, case_a.citizen)
    response = client.post(
        reverse("eservices:case", args=[case_a.pk]),
        {"body": "Här är intyget.", "attachments": [pdf_upload("läkarintyg.pdf")]},
    )
    assert response.status_code == 302
    message = Message.objects.get(thread=case_a.thread)
    assert message.sender == case_a.citizen.user
    assert Attachment.objects.get(message=message).filename == "läkarintyg.pdf"
    page = client.get(response["Location"]).content.decode()
    assert "Ditt meddelande har skickats." in page
    assert "Här är intyget." in page and "läkarintyg.pdf" in page


def test_bad_attachment_gives_swedish_error_and_keeps_the_text(client, org, case_a):
    login_citizen(client, case_a.citizen)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("virus.exe", b"MZ\x90\x00" + b"\x00" * 100, content_type="application/pdf")
    response = client.post(
        reverse("eservices:case", args=[case_a.pk]),
        {"body": "Min långa text som inte får försvinna", "attachments": [bad]},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Min långa text som inte får försvinna" in body
    assert "virus.exe" in body and "error-summary" in body
    assert not Message.objects.filter(thread=case_a.thread).exists()


def test_empty_message_is_refused_in_swedish(client, org, case_a):
    login_citizen(client, case_a.citizen)
    body = client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "  "}).content.decode()
    assert "Skriv ett meddelande innan du skickar." in body
    assert not Message.objects.filter(thread=case_a.thread).exists()


def test_write_page_says_the_handler_is_away_without_reason_or_date(client, org, case_a):
    returns = timezone.now() + timedelta(days=9)
    Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=returns,
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
        reason="Sjuk – influensa",
        message_to_colleagues="Ring inte",
    )
    body = (
        login_citizen(client, case_a.citizen)
        .get(reverse("eservices:case", args=[case_a.pk]))
        .content.decode()
    )
    assert "Din handläggare är frånvarande just nu. Kollegor på samma enhet läser ditt meddelande." in body
    assert "influensa" not in body and "Ring inte" not in body
    assert returns.strftime("%Y-%m-%d") not in body
    assert str(returns.day) + " " not in body.split("handler-away")[1].split("</p>")[0]


def test_no_away_notice_when_the_handler_is_in(client, org, case_a):
    body = (
        login_citizen(client, case_a.citizen)
        .get(reverse("eservices:case", args=[case_a.pk]))
        .content.decode()
    )
    assert "frånvarande just nu" not in body
    assert "Ditt meddelande blir en allmän handling" in body


def test_closed_case_shows_no_form_and_refuses_posts(client, org, case_a):
    Case.objects.filter(pk=case_a.pk).update(status=Case.Status.CLOSED)
    login_citizen(client, case_a.citizen)
    body = client.get(reverse("eservices:case", args=[case_a.pk])).content.decode()
    assert "Ärendet är avslutat" in body and 'name="body"' not in body
    assert client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "Hej"}).status_code == 403
    assert not Message.objects.filter(thread=case_a.thread).exists()


# --- attachments ---------------------------------------------------------------------------------


def test_attachment_download_is_an_attachment_with_nosniff(client, org, case_a):
    message = _with_attachment(case_a, case_a.citizen.user)
    attachment = Attachment.objects.get(message=message)
    response = login_citizen(client, case_a.citizen).get(
        reverse("eservices:attachment", args=[attachment.pk])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "intyg.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_attachment_of_an_internal_note_is_404(client, org, case_a):
    upload = pdf_upload()
    from mailboxes.attachments import attachments_store

    [attachment] = attachments_store([(upload, validate_upload(upload))], uploaded_by=org.handler_a1)
    message_store(
        thread=case_a.thread,
        sender=org.handler_a1,
        body="not",
        kind=Message.Kind.NOTE,
        attachments=[attachment],
    )
    assert (
        login_citizen(client, case_a.citizen)
        .get(reverse("eservices:attachment", args=[attachment.pk]))
        .status_code
        == 404
    )


# --- another citizen's ids -----------------------------------------------------------------------


def test_citizen_cannot_open_another_citizens_case_thread_or_attachment_by_changing_ids(client, org, case_a):
    message = _with_attachment(case_a, case_a.citizen.user)
    attachment = Attachment.objects.get(message=message)
    intruder = factories.citizen()
    own_case = factories.case(citizen_obj=intruder, eservice_obj=org.eservice_a)
    login_citizen(client, intruder)
    assert client.get(reverse("eservices:case", args=[own_case.pk])).status_code == 200
    for url in (
        reverse("eservices:case", args=[case_a.pk]),
        reverse("eservices:attachment", args=[attachment.pk]),
        reverse("eservices:case", args=[case_a.pk + 1000]),
        reverse("eservices:attachment", args=[attachment.pk + 1000]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert case_a.thread.subject.encode() not in response.content
    response = client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "Inbrott"})
    assert response.status_code == 404
    assert Message.objects.filter(thread=case_a.thread).count() == 1


STAFF_URLS = [
    "/",
    "/arenden/",
    "/brevlador/",
    "/franvaro/",
    "/logg/",
    "/django-admin/",
]


def test_citizen_cannot_reach_any_staff_url(client, org, case_a):
    login_citizen(client, case_a.citizen)
    for url in [*STAFF_URLS, reverse("eservices:staff_case_assign", args=[case_a.pk])]:
        assert client.get(url).status_code == 403, url


def test_staff_cannot_use_citizen_urls(client, org, case_a):
    message = _with_attachment(case_a, case_a.citizen.user)
    attachment = Attachment.objects.get(message=message)
    urls = [
        reverse("eservices:portal"),
        reverse("eservices:case", args=[case_a.pk]),
        reverse("eservices:attachment", args=[attachment.pk]),
        reverse("eservices:conversation_choose"),
        reverse("eservices:settings"),
        reverse("eservices:logout"),
        reverse("eservices:oidc_authentication_init"),
        reverse("eservices:oidc_callback"),
    ]
    for user in (org.handler_a1, org.manager_a, org.sysadmin):
        client.force_login(user, backend="accounts.backends.ModelBackend")
        for url in urls:
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "x"}).status_code == 403
    assert Message.objects.filter(thread=case_a.thread).count() == 1


def test_anonymous_visitor_is_sent_to_the_citizen_login(client, org, case_a):
    response = client.get(reverse("eservices:case", args=[case_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("eservices:login"))


# --- starting a conversation ---------------------------------------------------------------------


def test_new_conversation_through_meddelande_ifo_creates_case_in_the_chosen_unit(client, org, ifo):
    citizen = factories.citizen()
    login_citizen(client, citizen)
    choose = client.get(reverse("eservices:conversation_choose"))
    assert choose.status_code == 302
    page = client.get(choose["Location"]).content.decode()
    assert "Barn och familj" in page and "Vuxen" in page
    assert "Ditt meddelande blir en allmän handling" in page
    assert "kollegor på samma enhet" in page
    adults = ifo.topics.get(topic="adults")
    response = client.post(
        choose["Location"],
        {
            "topic": adults.pk,
            "subject": "Boende",
            "body": "Jag behöver hjälp med boende.",
            "attachments": [pdf_upload()],
        },
    )
    case = Case.objects.get(citizen=citizen)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("eservices:case", args=[case.pk]))
    assert (case.unit, case.handler, case.eservice) == (org.unit_b, None, ifo)
    message = Message.objects.get(thread=case.thread)
    assert message.attachments.count() == 1


def test_new_conversation_without_topic_keeps_the_text_and_says_what_is_missing(client, org, ifo):
    citizen = factories.citizen()
    login_citizen(client, citizen)
    body = client.post(
        reverse("eservices:conversation_start", args=[ifo.slug]), {"subject": "Fråga", "body": "Min text"}
    ).content.decode()
    assert "Välj vad ditt meddelande gäller." in body
    assert "Min text" in body and 'value="Fråga"' in body
    assert not Case.objects.filter(citizen=citizen).exists()


def test_eservice_citizens_cannot_start_is_404(client, org):
    login_citizen(client, factories.citizen())
    assert client.get(reverse("eservices:conversation_start", args=[org.eservice_a.slug])).status_code == 404


# --- notification settings -----------------------------------------------------------------------


def test_notification_settings_are_saved_and_validated(client, org):
    citizen = factories.citizen()
    login_citizen(client, citizen)
    url = reverse("eservices:settings")
    body = client.post(url, {"channel": "both", "email": "", "phone": "12"}).content.decode()
    assert "Ange den e-postadress vi ska skriva till." in body
    assert "Ange ett mobilnummer" in body
    citizen.refresh_from_db()
    assert citizen.notify_channel == Citizen.Channel.NONE
    response = client.post(url, {"channel": "both", "email": "a@example.invalid", "phone": "070-123 45 67"})
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert (citizen.notify_channel, citizen.notify_email, citizen.notify_phone) == (
        "both",
        "a@example.invalid",
        "+46701234567",
    )
    client.post(url, {"channel": "none", "email": "a@example.invalid", "phone": "0701234567"})
    citizen.refresh_from_db()
    assert (citizen.notify_channel, citizen.notify_email, citizen.notify_phone) == ("none", "", "")


# --- routing from the portal ---------------------------------------------------------------------


def test_message_written_in_the_portal_is_routed_on_commit(
    client, org, case_a, django_capture_on_commit_callbacks
):
    from absence.routing import route_message

    login_citizen(client, case_a.citizen)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "Hej"})
    assert callbacks
    message = Message.objects.get(thread=case_a.thread)
    route_message(message_id=message.pk)
    assert Delivery.objects.get(message=message).mailbox.owner == org.handler_a1


def test_thread_query_count_is_flat(client, org, case_a, django_assert_max_num_queries):
    _with_attachment(case_a, case_a.citizen.user)
    staff_message_send(case=case_a, sender=org.handler_a1, body="Svar")
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    with django_assert_max_num_queries(30) as one:
        client.get(url)
    case_assign(case=case_a, handler=org.handler_a1, co_handlers=[org.handler_a2], actor=org.manager_a)
    for n in range(5):
        _with_attachment(case_a, case_a.citizen.user, body=f"Bilaga {n}")
        sender = _fresh(org.handler_a2) if n % 2 else org.handler_a1
        staff_message_send(case=case_a, sender=sender, body=f"Svar {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


def test_portal_is_available_in_english(client, org, case_a):
    login_citizen(client, case_a.citizen)
    client.post(reverse("set_language"), {"language": "en", "next": reverse("eservices:portal")})
    body = client.get(reverse("eservices:portal")).content.decode()
    assert 'lang="en"' in body
    assert "My messages" in body and "Mina meddelanden" not in body


# --- files kept when the form comes back ---------------------------------------------------------

KEPT_LEGEND = "<legend>Filer som redan är tillagda</legend>"


def _ticked(page: str, attachment: Attachment) -> bool:
    """The kept file is offered as a ticked checkbox labelled with its name."""
    box = re.search(rf'<input type="checkbox" name="kept_attachments" value="{attachment.pk}"[^>]*>', page)
    return bool(box) and " checked" in box.group(0) and f">{attachment.filename}</label>" in page


def test_a_file_chosen_before_an_error_is_kept_ticked_and_reaches_the_handler(client, org, case_a):
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    response = client.post(url, {"body": "  ", "attachments": [pdf_upload("kontoutdrag.pdf")]})
    page = response.content.decode()
    assert "Skriv ett meddelande innan du skickar." in page
    kept = Attachment.objects.get(filename="kontoutdrag.pdf")
    assert (kept.uploaded_by, kept.message) == (case_a.citizen.user, None)
    assert KEPT_LEGEND in page and _ticked(page, kept)
    assert "Avmarkera en fil om den inte ska skickas med." in page
    assert not Message.objects.filter(thread=case_a.thread).exists()

    response = client.post(url, {"body": "Här är kontoutdraget.", "kept_attachments": [str(kept.pk)]})
    assert response.status_code == 302
    message = Message.objects.get(thread=case_a.thread)
    assert list(message.attachments.all()) == [kept]
    # The handler finds the file with the message in their own mailbox.
    from absence.routing import route_message
    from mailboxes.services import mailbox_personal_for

    route_message(message_id=message.pk)
    client.force_login(org.handler_a1, backend="accounts.backends.ModelBackend")
    personal = mailbox_personal_for(org.handler_a1)
    thread_url = reverse("mailboxes:thread", args=[personal.pk, case_a.thread_id])
    staff_page = client.get(thread_url).content.decode()
    assert "Här är kontoutdraget." in staff_page
    assert reverse("mailboxes:attachment", args=[personal.pk, kept.pk]) in staff_page


def test_a_kept_file_and_a_new_one_are_sent_together(client, org, case_a):
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    client.post(url, {"body": "", "attachments": [pdf_upload("första.pdf")]})
    kept = Attachment.objects.get(filename="första.pdf")
    response = client.post(
        url,
        {"body": "Två intyg", "kept_attachments": [str(kept.pk)], "attachments": [pdf_upload("andra.pdf")]},
    )
    assert response.status_code == 302
    message = Message.objects.get(thread=case_a.thread)
    assert sorted(a.filename for a in message.attachments.all()) == ["andra.pdf", "första.pdf"]


def test_an_unticked_kept_file_is_left_out(client, org, case_a):
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    client.post(url, {"body": "", "attachments": [pdf_upload("fel-fil.pdf")]})
    kept = Attachment.objects.get(filename="fel-fil.pdf")
    # Unticked: the browser sends no kept_attachments value at all.
    assert client.post(url, {"body": "Utan bilaga"}).status_code == 302
    message = Message.objects.get(thread=case_a.thread)
    assert not message.attachments.exists()
    kept.refresh_from_db()
    assert kept.message is None


def test_another_citizens_upload_cannot_be_ticked_into_a_message(client, org, case_a):
    from mailboxes.attachments import attachments_store

    stranger = factories.citizen()
    upload = pdf_upload("främlingens-journal.pdf")
    [theirs] = attachments_store([(upload, validate_upload(upload))], uploaded_by=stranger.user)
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    response = client.post(url, {"body": "Försöker", "kept_attachments": [str(theirs.pk)]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "En fil som du lade till tidigare finns inte längre kvar." in page
    assert "främlingens-journal.pdf" not in page
    assert "Försöker" in page
    assert not Message.objects.filter(thread=case_a.thread).exists()
    theirs.refresh_from_db()
    assert theirs.message is None


def test_an_upload_already_sent_cannot_be_attached_again(client, org, case_a):
    """Posting the same form twice (the back button): the file went with the first message only."""
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    client.post(url, {"body": "", "attachments": [pdf_upload()]})
    kept = Attachment.objects.get(filename="intyg.pdf")
    assert client.post(url, {"body": "Första", "kept_attachments": [str(kept.pk)]}).status_code == 302
    again = client.post(url, {"body": "Andra", "kept_attachments": [str(kept.pk)]})
    assert again.status_code == 200
    assert "En fil som du lade till tidigare finns inte längre kvar." in again.content.decode()
    kept.refresh_from_db()
    assert kept.message.body == "Första"
    assert Message.objects.filter(thread=case_a.thread).count() == 1


@override_settings(CITIZEN_POST_RATE="1/h")
def test_over_the_sending_limit_the_chosen_file_is_kept_too(client, org, case_a, clean_cache):
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    assert client.post(url, {"body": "Första"}).status_code == 302
    response = client.post(url, {"body": "Andra, med bilaga", "attachments": [pdf_upload("intyg.pdf")]})
    page = response.content.decode()
    assert response.status_code == 429
    assert "Du har skickat många meddelanden på kort tid." in page
    kept = Attachment.objects.get(filename="intyg.pdf")
    assert kept.message is None and _ticked(page, kept)
    assert Message.objects.filter(thread=case_a.thread).count() == 1


def test_starting_a_conversation_keeps_the_file_when_the_topic_is_missing(client, org, ifo):
    citizen = factories.citizen()
    login_citizen(client, citizen)
    url = reverse("eservices:conversation_start", args=[ifo.slug])
    response = client.post(
        url, {"subject": "Boende", "body": "Min text", "attachments": [pdf_upload("hyra.pdf")]}
    )
    page = response.content.decode()
    assert "Välj vad ditt meddelande gäller." in page
    kept = Attachment.objects.get(filename="hyra.pdf")
    assert (kept.uploaded_by, kept.message) == (citizen.user, None)
    assert KEPT_LEGEND in page and _ticked(page, kept)
    assert not Case.objects.filter(citizen=citizen).exists()

    adults = ifo.topics.get(topic="adults")
    response = client.post(
        url, {"topic": adults.pk, "subject": "Boende", "body": "Min text", "kept_attachments": [str(kept.pk)]}
    )
    assert response.status_code == 302
    message = Message.objects.get(thread=Case.objects.get(citizen=citizen).thread)
    assert list(message.attachments.all()) == [kept]


@pytest.mark.fast_path
@pytest.mark.django_db(transaction=True)
def test_a_citizen_send_without_files_costs_no_more_queries(client, org, case_a, django_assert_num_queries):
    """The send is on the ingest benchmark's path: keeping files costs nothing when there are none.
    Outside a test transaction, so that a BEGIN and COMMIT of the send's own would be counted."""
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    client.get(url)  # the session's activity stamp is written on the first request (not counted)
    with django_assert_num_queries(SEND_QUERIES):
        assert client.post(url, {"body": "Hej"}).status_code == 302


def test_a_plain_send_stores_the_message_in_the_citizens_own_open_case_only(
    client, org, case_a, django_capture_on_commit_callbacks
):
    """The send that checks the case in the same statement as it writes: it stores what the usual
    path stores, and anything but the citizen's own open case stores nothing and answers as before."""
    login_citizen(client, case_a.citizen)
    before = Thread.objects.get(pk=case_a.thread_id).last_message_at
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("eservices:case", args=[case_a.pk]), {"body": "  Hej, här är svaret.  "}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("eservices:case", args=[case_a.pk]) + "#latest"
    message = Message.objects.get(thread=case_a.thread)
    assert (message.sender, message.kind, message.body) == (
        case_a.citizen.user,
        Message.Kind.NORMAL,
        "Hej, här är svaret.",
    )
    assert message.sender_mailbox is None
    assert len(callbacks) == 1, "routing is asked for once the send has committed"
    thread = Thread.objects.get(pk=case_a.thread_id)
    assert thread.last_message_at == message.created_at and (before is None or before < message.created_at)
    assert "Ditt meddelande har skickats" in client.get(response["Location"]).content.decode()

    missing = client.post(reverse("eservices:case", args=[case_a.pk + 1000]), {"body": "Hej"})
    assert missing.status_code == 404
    Case.objects.filter(pk=case_a.pk).update(status=Case.Status.CLOSED)
    assert client.post(reverse("eservices:case", args=[case_a.pk]), {"body": "Igen"}).status_code == 403
    assert Message.objects.filter(thread=case_a.thread).count() == 1


def test_where_the_one_statement_send_is_not_available_the_usual_path_sends_once(
    client, org, case_a, monkeypatch, clean_cache, settings
):
    """On a database without the one-statement send (SQLite, make run) the view reads the case and
    sends the usual way, counting the send against the rate limit once."""
    from eservices import services

    monkeypatch.setattr(services, "_citizen_message_send_if_open", lambda **kwargs: None)
    settings.CITIZEN_POST_RATE = "2/h"
    login_citizen(client, case_a.citizen)
    url = reverse("eservices:case", args=[case_a.pk])
    assert client.post(url, {"body": "Ett"}).status_code == 302
    assert client.post(url, {"body": "Två"}).status_code == 302
    assert client.post(url, {"body": "Tre"}).status_code == 429  # counted once each, not twice
    assert list(
        Message.objects.filter(thread=case_a.thread).order_by("id").values_list("body", flat=True)
    ) == [
        "Ett",
        "Två",
    ]
