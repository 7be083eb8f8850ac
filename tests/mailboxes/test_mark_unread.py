"""Mark as unread: the thread's newest copy in the mailbox is unread again, the summary counts it, a
citizen thread's access log records it, and the log reviewer can filter by it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessLogEntry
from mailboxes.models import Delivery, MailboxThread
from mailboxes.services import deliveries_mark_read, deliveries_mark_unread, summary_mismatches
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_reply, internal_thread, personal

pytestmark = pytest.mark.django_db


def summary(mailbox, thread) -> MailboxThread:
    return MailboxThread.objects.get(mailbox=mailbox, thread=thread)


def test_the_newest_copy_becomes_unread_and_the_summary_counts_it(org):
    inbox = personal(org.handler_a1)
    first = internal_thread(org.handler_a2, [inbox], body="Första")
    newest = internal_reply(first.thread, org.handler_a2, personal(org.handler_a2), [inbox], body="Andra")
    deliveries_mark_read(mailbox=inbox, thread=first.thread, user=org.handler_a1)

    assert deliveries_mark_unread(mailbox=inbox, thread=first.thread) == 1

    assert summary(inbox, first.thread).unread_count == 1
    unread = Delivery.objects.get(mailbox=inbox, thread=first.thread, read_at__isnull=True)
    assert unread.message_id == newest.pk and unread.read_by_id is None
    assert summary_mismatches() == {}


def test_a_thread_already_unread_is_left_as_it_is(org):
    inbox = personal(org.handler_a1)
    message = internal_thread(org.handler_a2, [inbox])
    assert deliveries_mark_unread(mailbox=inbox, thread=message.thread) == 0
    assert summary(inbox, message.thread).unread_count == 1


def test_only_that_mailbox_is_changed(org):
    gbox, inbox = group(org.unit_a), personal(org.handler_a1)
    message = internal_thread(org.handler_b1, [gbox, inbox])
    deliveries_mark_read(mailbox=gbox, thread=message.thread, user=org.handler_a2)
    deliveries_mark_read(mailbox=inbox, thread=message.thread, user=org.handler_a1)
    deliveries_mark_unread(mailbox=inbox, thread=message.thread)
    assert summary(inbox, message.thread).unread_count == 1
    assert summary(gbox, message.thread).unread_count == 0


def test_the_button_marks_it_unread_and_goes_back_to_the_list(client, org):
    inbox = personal(org.handler_a1)
    message = internal_thread(org.handler_a2, [inbox], subject="Läs igen")
    login(client, org.handler_a1)
    thread_url = reverse("mailboxes:thread", args=[inbox.pk, message.thread_id])
    page = client.get(thread_url).content.decode()  # opening it marks it read
    assert reverse("mailboxes:mark_unread", args=[inbox.pk, message.thread_id]) in page
    assert summary(inbox, message.thread).unread_count == 0

    response = client.post(reverse("mailboxes:mark_unread", args=[inbox.pk, message.thread_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("mailboxes:mailbox", args=[inbox.pk])
    assert summary(inbox, message.thread).unread_count == 1
    listing = client.get(response["Location"]).content.decode()
    assert "Tråden är markerad som oläst." in listing
    assert "thread-row--unread" in listing
    # An internal thread: nothing for the access log.
    assert not AccessLogEntry.objects.exists()


def test_a_citizen_thread_marked_unread_is_in_the_access_log_and_the_reviewer_filters_by_it(
    client, org, citizen_case
):
    inbox = personal(org.handler_a1)
    login(client, org.handler_a1)
    client.get(reverse("mailboxes:thread", args=[inbox.pk, citizen_case.thread_id]))
    client.post(reverse("mailboxes:mark_unread", args=[inbox.pk, citizen_case.thread_id]))

    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.MARK_UNREAD)
    assert (entry.user_id, entry.thread_id, entry.case_id) == (
        org.handler_a1.pk,
        citizen_case.thread_id,
        citizen_case.pk,
    )
    assert entry.citizen_id == citizen_case.citizen.user_id
    assert entry.route == AccessLogEntry.Route.OWN_MAILBOX

    login(client, org.log_reviewer)
    form = client.get(reverse("audit:search")).content.decode()
    assert '<option value="mark_unread">Markerade som oläst</option>' in form
    body = client.get(reverse("audit:search"), {"action": "mark_unread"}).content.decode()
    assert "1 post" in body and "Anna Andersson" in body


def test_marking_unread_needs_the_mailbox(client, org):
    inbox = personal(org.handler_a1)
    message = internal_thread(org.handler_a2, [inbox])
    login(client, org.handler_a2)  # not their mailbox
    assert (
        client.post(reverse("mailboxes:mark_unread", args=[inbox.pk, message.thread_id])).status_code == 404
    )
    assert client.get(reverse("mailboxes:mark_unread", args=[inbox.pk, message.thread_id])).status_code == 405


def test_a_new_citizen_message_after_marking_unread_counts_once_more(org, citizen_case):
    inbox = personal(org.handler_a1)
    deliveries_mark_read(mailbox=inbox, thread=citizen_case.thread, user=org.handler_a1)
    deliveries_mark_unread(mailbox=inbox, thread=citizen_case.thread)
    citizen_writes(citizen_case, body="En fråga till.")
    assert summary(inbox, citizen_case.thread).unread_count == 2
    assert summary_mismatches() == {}
