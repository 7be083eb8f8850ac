"""A bounded load of concurrent senders on one thread loses and duplicates nothing (issue 7)."""

import threading

import pytest
from django.db import connection

from absence.routing import route_message
from mailboxes.models import Delivery, MailboxThread, Message
from mailboxes.services import mailbox_personal_for, message_store, thread_create
from tests import factories

SENDERS = 20
PER_SENDER = 20


# SQLite (make run, a trial) serialises writers: of twenty, some wait past busy_timeout and fail.
@pytest.mark.postgres_only(reason="twenty concurrent writers; SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_twenty_senders_times_twenty_messages_on_one_thread():
    unit = factories.unit()
    recipient = factories.staff(units=(unit,))
    senders = [factories.staff(units=(unit,)) for _ in range(SENDERS)]
    group = unit.group_mailbox
    personal = mailbox_personal_for(recipient)
    thread = thread_create(subject="Gemensam tråd")
    errors: list[BaseException] = []
    barrier = threading.Barrier(SENDERS)

    def send(sender):
        try:
            own = mailbox_personal_for(sender)
            barrier.wait()
            for n in range(PER_SENDER):
                message = message_store(
                    thread=thread,
                    sender=sender,
                    sender_mailbox=own,
                    body=f"{sender.pk}-{n}",
                    recipients=[group, personal],
                )
                route_message(message_id=message.pk)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=send, args=(s,)) for s in senders]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)

    assert errors == []
    total = SENDERS * PER_SENDER
    assert Message.objects.filter(thread=thread).count() == total
    assert Message.objects.filter(thread=thread, routed_at__isnull=True).count() == 0
    for mailbox in (group, personal):
        assert Delivery.objects.filter(mailbox=mailbox, thread=thread).count() == total
        summary = MailboxThread.objects.get(mailbox=mailbox, thread=thread)
        assert summary.message_count == total
        assert summary.unread_count == total
        assert (
            summary.last_activity_at == Message.objects.filter(thread=thread).latest("created_at").created_at
        )
    for sender in senders:
        own = mailbox_personal_for(sender)
        summary = MailboxThread.objects.get(mailbox=own, thread=thread)
        assert summary.message_count == PER_SENDER
        assert summary.unread_count == 0
    # No (message, mailbox) pair twice: 400 × (group + personal + sender's own copy).
    assert Delivery.objects.filter(thread=thread).count() == total * 3
