"""The inbox pages as a handläggare uses them: reading, replying, taking and handling, composing
with the mail tip, attachments, the polled unread counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from absence.routing import route_message
from mailboxes.models import Attachment, Delivery, MailboxThread, Message, Thread
from tests.conftest import login
from tests.mailboxes.conftest import group, internal_thread, personal
from tests.mailboxes.test_access import PDF
from tests.mailboxes.test_services import away

pytestmark = pytest.mark.django_db


def run_routing(callbacks) -> None:
    """The on-commit callbacks enqueue routing; here we route the stored messages the way the task
    does, with the message id it would receive."""
    assert callbacks, "routing was not enqueued"
    for message in Message.objects.filter(routed_at__isnull=True, kind=Message.Kind.NORMAL):
        route_message(message_id=message.pk)


def test_opening_a_thread_marks_it_read_and_the_count_drops(client, org):
    inbox = personal(org.handler_a1)
    message = internal_thread(org.handler_a2, [inbox], body="Kan du titta på detta?")
    login(client, org.handler_a1)
    index = client.get(reverse("mailboxes:index")).content.decode()
    assert "1 oläst" in index

    page = client.get(reverse("mailboxes:thread", args=[inbox.pk, message.thread_id])).content.decode()
    assert "Kan du titta på detta?" in page
    assert "Inkom" in page and message.created_at.astimezone().strftime("%Y-%m-%d") in page

    assert MailboxThread.objects.get(mailbox=inbox, thread=message.thread).unread_count == 0
    assert "inga olästa" in client.get(reverse("mailboxes:index")).content.decode()


def test_reply_goes_to_the_other_participants_and_is_routed(client, org, django_capture_on_commit_callbacks):
    first = internal_thread(org.handler_a2, [personal(org.handler_a1), group(org.unit_b)])
    url = reverse("mailboxes:reply", args=[personal(org.handler_a1).pk, first.thread_id])
    login(client, org.handler_a1)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, {"reply-body": "Jag tar det på mötet."})
    assert response.status_code == 302
    run_routing(callbacks)
    reply = Message.objects.get(body="Jag tar det på mötet.")
    assert set(reply.recipients.all()) == {personal(org.handler_a2), group(org.unit_b)}
    holders = set(Delivery.objects.filter(message=reply).values_list("mailbox_id", flat=True))
    assert holders == {personal(org.handler_a1).pk, personal(org.handler_a2).pk, group(org.unit_b).pk}
    assert MailboxThread.objects.get(mailbox=personal(org.handler_a2), thread=first.thread).unread_count == 1


def test_reply_to_someone_away_shows_the_mail_tip_before_sending(client, org):
    away(org.handler_a2, forward_to=group(org.unit_a))
    first = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, first.thread_id]))
    body = page.content.decode()
    assert "Bo Berg är frånvarande tills vidare." in body
    assert "Meddelandet går även till IFO Testenhet A." in body


def test_take_and_handle_in_the_group_mailbox_is_seen_by_the_other_member(client, org):
    message = internal_thread(org.handler_b1, [group(org.unit_a)], subject="Behöver hjälp")
    gbox = group(org.unit_a)
    thread_url = reverse("mailboxes:thread", args=[gbox.pk, message.thread_id])
    login(client, org.handler_a2)
    client.post(reverse("mailboxes:take", args=[gbox.pk, message.thread_id]))
    client.post(reverse("mailboxes:handled", args=[gbox.pk, message.thread_id]))

    login(client, org.handler_a1)
    listing = client.get(reverse("mailboxes:mailbox", args=[gbox.pk])).content.decode()
    assert "hanterat av Bo Berg" in listing
    assert "hanterat av Bo Berg" in client.get(thread_url).content.decode()
    handled = client.get(reverse("mailboxes:mailbox", args=[gbox.pk]), {"visa": "hanterade"})
    assert "Behöver hjälp" in handled.content.decode()
    unread = client.get(reverse("mailboxes:mailbox", args=[gbox.pk]), {"visa": "olasta"})
    assert "Behöver hjälp" not in unread.content.decode()


def test_taken_by_me_filter(client, org):
    gbox = group(org.unit_a)
    mine = internal_thread(org.handler_b1, [gbox], subject="Min tråd")
    internal_thread(org.handler_b1, [gbox], subject="Annans tråd")
    login(client, org.handler_a2)
    client.post(reverse("mailboxes:take", args=[gbox.pk, mine.thread_id]))
    page = client.get(reverse("mailboxes:mailbox", args=[gbox.pk]), {"visa": "mina"}).content.decode()
    assert "Min tråd" in page and "Annans tråd" not in page
    assert "tas om hand av Bo Berg" in page


def test_take_is_not_offered_nor_accepted_in_a_personal_mailbox(client, org):
    message = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    login(client, org.handler_a1)
    url = reverse("mailboxes:take", args=[personal(org.handler_a1).pk, message.thread_id])
    assert client.post(url).status_code == 404
    page = client.get(reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, message.thread_id]))
    assert "Jag tar den" not in page.content.decode()


def test_forward_form_lists_own_units_group_mailboxes_and_requires_a_choice(client, org):
    message = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    url = reverse("mailboxes:forward", args=[personal(org.handler_a1).pk, message.thread_id])
    login(client, org.handler_a1)
    page = client.get(url).content.decode()
    assert "IFO Testenhet A" in page and "IFO Testenhet B" not in page
    response = client.post(url, {"note": "Viktigt"})
    assert response.status_code == 400
    assert "Det här fältet är obligatoriskt." in response.content.decode()
    assert "Viktigt" in response.content.decode()


def test_forward_by_hand_refuses_another_units_mailbox_and_a_missing_reason(client, org):
    from audit.models import AuditEvent

    message = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    url = reverse("mailboxes:forward", args=[personal(org.handler_a1).pk, message.thread_id])
    login(client, org.handler_a1)
    response = client.post(url, {"target": group(org.unit_b).pk, "note": "Rör er enhet"})
    assert response.status_code == 400
    assert "finns inte bland tillgängliga alternativ" in response.content.decode()
    response = client.post(url, {"target": group(org.unit_a).pk, "note": "  "})
    assert response.status_code == 400
    assert "Ange kort varför du vidarebefordrar tråden." in response.content.decode()
    assert not MailboxThread.objects.filter(thread_id=message.thread_id, mailbox=group(org.unit_a)).exists()
    client.cookies["django_language"] = "en"
    response = client.post(url, {"target": group(org.unit_a).pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Say briefly why you forward the thread." in response.content.decode()
    response = client.post(url, {"target": group(org.unit_a).pk, "note": "Semester, ta över"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="thread.forward")
    assert event.actor_id == org.handler_a1.pk and event.after["reason"] == "Semester, ta över"


# --- compose and the mail tip -------------------------------------------------------------------


def test_compose_offers_only_staff_and_group_mailboxes_of_the_organisation(client, org):
    from tests import factories

    citizen = factories.citizen("Carl", "Medborgare")
    from mailboxes.services import mailbox_personal_for

    citizen_box = mailbox_personal_for(citizen.user)
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:compose")).content.decode()
    assert "Bo Berg (IFO Testenhet A)" in page
    assert "IFO Testenhet B" in page
    assert "Carl Medborgare" not in page
    assert "Erik Ek" not in page  # administrator, member of no unit
    response = client.post(
        reverse("mailboxes:compose"),
        {"recipients": [str(citizen_box.pk)], "subject": "Hej", "body": "Text", "action": "send"},
    )
    assert response.status_code == 400
    assert "finns inte bland tillgängliga alternativ" in response.content.decode()
    assert not Thread.objects.filter(subject="Hej").exists()


def test_compose_to_someone_away_asks_before_sending_then_sends(
    client, org, django_capture_on_commit_callbacks
):
    away(org.handler_a2, forward_to=group(org.unit_a))
    login(client, org.handler_a1)
    data = {
        "recipients": [str(personal(org.handler_a2).pk)],
        "subject": "Semesterplanering",
        "body": "Kan vi byta vecka?",
        "action": "send",
    }
    first = client.post(reverse("mailboxes:compose"), data)
    body = first.content.decode()
    assert first.status_code == 200
    assert "Bo Berg är frånvarande tills vidare." in body
    assert "Meddelandet går även till IFO Testenhet A." in body
    assert "Skicka ändå" in body
    assert "Kan vi byta vecka?" in body  # nothing typed is lost
    assert not Thread.objects.filter(subject="Semesterplanering").exists()

    fingerprint = body.split('name="away_acknowledged" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks() as callbacks:
        second = client.post(reverse("mailboxes:compose"), {**data, "away_acknowledged": fingerprint})
    assert second.status_code == 302
    run_routing(callbacks)
    thread = Thread.objects.get(subject="Semesterplanering")
    holders = set(Delivery.objects.filter(thread=thread).values_list("mailbox_id", "reason"))
    assert (personal(org.handler_a2).pk, Delivery.Reason.DIRECT) in holders
    assert (group(org.unit_a).pk, Delivery.Reason.FORWARDED_ABSENCE) in holders


def test_check_recipients_without_text_shows_the_tip_and_no_errors(client, org):
    away(org.handler_a2, forward_to=group(org.unit_a))
    login(client, org.handler_a1)
    response = client.post(
        reverse("mailboxes:compose"), {"recipients": [str(personal(org.handler_a2).pk)], "action": "check"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Bo Berg är frånvarande" in body
    assert "Det här fältet är obligatoriskt." not in body


def test_away_tip_partial_for_htmx(client, org):
    away(org.handler_a2, forward_to=group(org.unit_a))
    login(client, org.handler_a1)
    response = client.get(reverse("mailboxes:away_tip"), {"recipients": [personal(org.handler_a2).pk]})
    assert "Bo Berg är frånvarande" in response.content.decode()
    assert 'name="away_acknowledged"' in response.content.decode()
    quiet = client.get(reverse("mailboxes:away_tip"), {"recipients": [personal(org.manager_a).pk]})
    assert "frånvarande" not in quiet.content.decode()


def test_compose_to_someone_present_sends_at_once(client, org, django_capture_on_commit_callbacks):
    login(client, org.handler_a1)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("mailboxes:compose"),
            {
                "recipients": [str(personal(org.manager_a).pk), str(group(org.unit_b).pk)],
                "subject": "Fråga",
                "body": "Hej!",
                "action": "send",
            },
        )
    assert response.status_code == 302
    run_routing(callbacks)
    thread = Thread.objects.get(subject="Fråga")
    assert MailboxThread.objects.get(mailbox=personal(org.manager_a), thread=thread).unread_count == 1
    assert MailboxThread.objects.get(mailbox=group(org.unit_b), thread=thread).unread_count == 1
    assert response["Location"] == reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, thread.pk])


# --- attachments ---------------------------------------------------------------------------------


def compose_data(org, **extra):
    return {
        "recipients": [str(personal(org.manager_a).pk)],
        "subject": "Med bilaga",
        "body": "Texten jag skrev",
        "action": "send",
        **extra,
    }


def test_a_forbidden_file_type_is_refused_in_swedish_and_the_text_is_kept(client, org):
    login(client, org.handler_a1)
    fake = SimpleUploadedFile(
        "faktura.pdf", b"MZ\x90\x00 this is really a program", content_type="application/pdf"
    )
    response = client.post(reverse("mailboxes:compose"), compose_data(org, attachments=[fake]))
    body = response.content.decode()
    assert response.status_code == 400
    assert "Filen ”faktura.pdf” är inte av en tillåten filtyp." in body
    assert "Texten jag skrev" in body and 'value="Med bilaga"' in body
    assert not Thread.objects.filter(subject="Med bilaga").exists()
    assert not Attachment.objects.exists()


@override_settings(ATTACHMENT_MAX_BYTES=100)
def test_a_file_over_the_limit_is_refused_in_swedish_and_the_text_is_kept(client, org):
    login(client, org.handler_a1)
    big = SimpleUploadedFile("stor.pdf", PDF + b"0" * 200, content_type="application/pdf")
    response = client.post(reverse("mailboxes:compose"), compose_data(org, attachments=[big]))
    body = response.content.decode()
    assert response.status_code == 400
    assert "Filen ”stor.pdf” är" in body and "gränsen är 100\xa0byte" in body
    assert "Texten jag skrev" in body


def test_an_accepted_upload_is_kept_when_another_field_needs_fixing(
    client, org, django_capture_on_commit_callbacks
):
    login(client, org.handler_a1)
    good = SimpleUploadedFile("intyg.pdf", PDF, content_type="application/pdf")
    response = client.post(reverse("mailboxes:compose"), compose_data(org, body="", attachments=[good]))
    body = response.content.decode()
    assert response.status_code == 400
    assert "intyg.pdf" in body and "Filer som redan är tillagda" in body
    kept = Attachment.objects.get(filename="intyg.pdf")
    assert kept.uploaded_by == org.handler_a1 and kept.message is None

    with django_capture_on_commit_callbacks():
        done = client.post(reverse("mailboxes:compose"), compose_data(org, kept_attachments=[str(kept.pk)]))
    assert done.status_code == 302
    kept.refresh_from_db()
    assert kept.message.thread.subject == "Med bilaga"


def test_someone_elses_upload_cannot_be_attached(client, org, django_capture_on_commit_callbacks):
    good = SimpleUploadedFile("annans.pdf", PDF, content_type="application/pdf")
    from mailboxes.attachments import attachments_store, validate_upload

    [theirs] = attachments_store([(good, validate_upload(good))], uploaded_by=org.handler_b1)
    login(client, org.handler_a1)
    response = client.post(reverse("mailboxes:compose"), compose_data(org, kept_attachments=[str(theirs.pk)]))
    assert response.status_code == 400
    theirs.refresh_from_db()
    assert theirs.message is None


def test_reply_with_attachment_and_download(client, org, django_capture_on_commit_callbacks):
    first = internal_thread(org.handler_a2, [personal(org.handler_a1)])
    login(client, org.handler_a1)
    png = SimpleUploadedFile("bild.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
    with django_capture_on_commit_callbacks():
        client.post(
            reverse("mailboxes:reply", args=[personal(org.handler_a1).pk, first.thread_id]),
            {"reply-body": "Se bild", "reply-attachments": [png]},
        )
    attachment = Attachment.objects.get(filename="bild.png")
    assert attachment.content_type == "image/png"
    page = client.get(reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, first.thread_id]))
    link = reverse("mailboxes:attachment", args=[personal(org.handler_a1).pk, attachment.pk])
    assert link in page.content.decode()
    assert client.get(link).status_code == 200


# --- the polled unread counts ----------------------------------------------------------------------


def test_unread_counts_partial_answers_204_until_a_count_changes(client, org):
    inbox = personal(org.handler_a1)
    login(client, org.handler_a1)
    index = client.get(reverse("mailboxes:index")).content.decode()
    assert 'aria-live="polite"' in index
    assert 'hx-trigger="every 15s, mailboxes-read from:body"' in index
    poll_url = index.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    assert client.get(poll_url).status_code == 204

    internal_thread(org.handler_a2, [inbox])
    changed = client.get(poll_url)
    assert changed.status_code == 200
    assert "1 oläst" in changed.content.decode()
    assert "<html" not in changed.content.decode()  # a fragment, not a page


def test_polling_the_unread_counts_does_not_keep_the_session_alive(client, org):
    import time

    login(client, org.handler_a1)
    client.get(reverse("mailboxes:index"))
    session = client.session
    earlier = time.time() - 60
    session["last_activity"] = earlier
    session.save()
    client.get(reverse("mailboxes:unread"))
    assert client.session["last_activity"] == earlier
    client.get(reverse("mailboxes:index"))
    assert client.session["last_activity"] > earlier


def test_message_bodies_are_plain_text_with_safe_links(client, org):
    inbox = personal(org.handler_a1)
    message = internal_thread(
        org.handler_a2, [inbox], body="Se https://example.org/rutin och <script>alert(1)</script>"
    )
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:thread", args=[inbox.pk, message.thread_id])).content.decode()
    assert '<a href="https://example.org/rutin" rel="noopener noreferrer nofollow"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_citizen_thread_names_the_case_team_and_who_could_add_a_reader_who_may_not_send(client, org):
    from accounts import roles
    from tests import factories
    from tests.mailboxes.conftest import citizen_writes

    factories.staff(roles.ENHETSCHEF, units=(org.unit_b,), first_name="Olle", last_name="Ek")
    retired = factories.staff(roles.ENHETSCHEF, units=(org.unit_a,), first_name="Rut", last_name="Ro")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    # Not yet assigned: the citizen's message is in the unit's group mailbox.
    unassigned = factories.case(eservice_obj=org.eservice_a, co_handlers=[org.handler_b1])
    citizen_writes(unassigned)
    login(client, org.handler_a2)  # a member of the group mailbox, not on the case
    page = client.get(reverse("mailboxes:thread", args=[group(org.unit_a).pk, unassigned.thread_id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Medhandläggare: Cilla Carlsson." in body
    assert "Enhetschef: Dora Dahl." in body  # the unit's active managers only
    assert "Olle Ek" not in body and "Rut Ro" not in body

    handled = factories.case(
        eservice_obj=org.eservice_a, handler=org.handler_a1, co_handlers=[org.handler_b1]
    )
    citizen_writes(handled)
    client.logout()
    login(client, org.handler_a1)  # the handler may send: nobody to point them to
    page = client.get(reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, handled.thread_id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Cilla Carlsson" in body and "Dora Dahl" not in body


def test_a_list_row_shows_its_badges_and_tags_translated_and_names_escaped(client, org):
    gbox = group(org.unit_a)
    message = internal_thread(org.handler_b1, [gbox], subject="Om <b>rutinen</b>")
    row = MailboxThread.objects.get(mailbox=gbox, thread=message.thread)
    MailboxThread.objects.filter(pk=row.pk).update(
        unread_count=2,
        forwarded_for_name="<i>Eva</i> Ek",
        forwarded_by_name="Adam Admin",
        taken_by=org.handler_a2,
    )
    login(client, org.handler_a1)
    url = reverse("mailboxes:mailbox", args=[gbox.pk])
    html = client.get(url).content.decode()
    assert "2 olästa" in html
    assert "vidarebefordrat — &lt;i&gt;Eva&lt;/i&gt; Ek frånvarande" in html
    assert "vidarebefordrat av Adam Admin" in html
    assert f"tas om hand av {org.handler_a2.display_name}" in html
    assert "<i>Eva</i>" not in html and "Om &lt;b&gt;rutinen&lt;/b&gt;" in html
    MailboxThread.objects.filter(pk=row.pk).update(handled_by=org.handler_a2)
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert 'lang="en"' in english
    assert "2 unread" in english
    assert f"handled by {org.handler_a2.display_name}" in english
    assert "being handled by" not in english
