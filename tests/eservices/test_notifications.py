"""Citizen notifications: content-free, by the citizen's chosen channels, idempotent per (message,
channel), retried when a backend fails, and never in the way of the message itself."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from eservices import sms
from eservices.models import Citizen, NotificationLog
from eservices.notifications import NotificationFailed, message_notify
from eservices.services import citizen_message_send, citizen_notification_settings_update, staff_message_send
from eservices.tasks import notify_citizen, notify_sweep
from lifemsg.settings.mail import mail_settings
from mailboxes.models import Message
from mailboxes.services import message_store
from tests import factories
from tests.conftest import wait_for
from tests.eservices.backends import FlakyEmail, FlakySms

FLAKY = {
    **mail_settings("tests.eservices.backends.FlakyEmailBackend"),
    "SMS_BACKEND": "tests.eservices.backends.FlakySmsBackend",
}


@pytest.fixture(autouse=True)
def clean_outboxes():
    sms.outbox.clear()
    FlakyEmail.reset(0)
    FlakySms.reset(0)
    yield
    sms.outbox.clear()


def _notified_case(org, channel=Citizen.Channel.BOTH):
    citizen = factories.citizen(first="Signe", last="Sekretessdal")
    citizen_notification_settings_update(
        citizen=citizen, channel=channel, email="signe@example.invalid", phone="+46701112233"
    )
    return factories.case(
        citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Särskilt ärende"
    )


@pytest.mark.django_db
def test_notification_says_only_that_there_is_a_new_message(org):
    case = _notified_case(org)
    body = "Beslutet om försörjningsstöd för mars är klart"
    message = staff_message_send(case=case, sender=org.handler_a1, body=body)
    assert sorted(message_notify(message_id=message.pk)) == ["email", "sms"]

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["signe@example.invalid"]
    assert "Nytt meddelande" in email.subject
    assert "http://127.0.0.1:8000/medborgare/" in email.body
    [(to, text)] = sms.outbox
    assert to == "+46701112233"
    forbidden = [
        body,
        "försörjningsstöd",
        org.unit_a.name,
        org.handler_a1.first_name,
        org.handler_a1.last_name,
        case.reference,
        case.thread.subject,
        case.eservice.name,
        case.citizen.first_name,
        case.citizen.last_name,
    ]
    for sent in (email.subject, email.body, text):
        for word in forbidden:
            assert word not in sent, word


@pytest.mark.django_db
@override_settings(MUNICIPALITY_NAME="Söderköpings kommun")
def test_notification_names_only_the_configured_municipality(org):
    """Guarantee 6: a notification seen on a shared phone or mailbox must not reveal contact with social
    services (OSL 26:1); it names the municipality from the setting and nothing else."""
    case = _notified_case(org)
    staff_message_send(case=case, sender=org.handler_a1, body="Hej")
    message_notify(message_id=case.thread.messages.latest("id").pk)

    email = mail.outbox[0]
    [(_, text)] = sms.outbox
    for sent in (email.subject, email.body, text):
        assert "Söderköpings kommun" in sent
        for word in (
            "socialtjänst",
            "social services",
            org.unit_a.name,
            case.eservice.name,
            org.handler_a1.get_full_name(),
        ):
            assert word.lower() not in sent.lower(), (word, sent)


@pytest.mark.django_db
@override_settings(**FLAKY)
def test_retry_after_partial_success_sends_only_the_failed_channel(org):
    case = _notified_case(org)
    message = staff_message_send(case=case, sender=org.handler_a1, body="Hej")
    FlakyEmail.reset(1)

    with pytest.raises(NotificationFailed):
        message_notify(message_id=message.pk)
    assert (len(mail.outbox), len(sms.outbox)) == (0, 1)
    email_log = NotificationLog.objects.get(message=message, channel="email")
    assert (email_log.sent_at, email_log.attempts, email_log.last_error) == (
        None,
        1,
        "SMTPServerDisconnected",
    )

    assert message_notify(message_id=message.pk) == ["email"]
    assert (len(mail.outbox), len(sms.outbox)) == (1, 1)
    assert message_notify(message_id=message.pk) == []
    assert (len(mail.outbox), len(sms.outbox)) == (1, 1)
    assert not NotificationLog.objects.filter(message=message, sent_at__isnull=True).exists()


@pytest.mark.django_db
@override_settings(**FLAKY)
def test_task_retries_a_failing_mail_backend_until_sent(org):
    case = _notified_case(org, channel=Citizen.Channel.EMAIL)
    message = staff_message_send(case=case, sender=org.handler_a1, body="Hej")
    FlakyEmail.reset(2)
    notify_citizen.apply(kwargs={"message_id": message.pk})
    assert FlakyEmail.calls == 3
    assert len(mail.outbox) == 1
    log = NotificationLog.objects.get(message=message)
    assert log.attempts == 3
    assert log.sent_at is not None


@pytest.mark.django_db
@override_settings(**FLAKY)
def test_retries_are_bounded_and_the_message_stays(org):
    case = _notified_case(org, channel=Citizen.Channel.EMAIL)
    message = staff_message_send(case=case, sender=org.handler_a1, body="Hej")
    FlakyEmail.reset(-1)  # never works
    result = notify_citizen.apply(kwargs={"message_id": message.pk})
    assert result.failed() or result.state == "RETRY"
    assert FlakyEmail.calls == notify_citizen.max_retries + 1
    assert Message.objects.filter(pk=message.pk).exists()
    log = NotificationLog.objects.get(message=message)
    assert log.sent_at is None
    assert log.attempts == notify_citizen.max_retries + 1


@pytest.mark.django_db
def test_internal_note_and_citizens_own_message_never_notify(org):
    case = _notified_case(org)
    note = message_store(
        thread=case.thread, sender=org.handler_a1, body="Intern anteckning", kind=Message.Kind.NOTE
    )
    own = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    assert message_notify(message_id=note.pk) == []
    assert message_notify(message_id=own.pk) == []
    assert mail.outbox == [] and sms.outbox == []
    assert not NotificationLog.objects.exists()


@pytest.mark.django_db
def test_no_notification_when_the_citizen_chose_none(org):
    case = _notified_case(org, channel=Citizen.Channel.NONE)
    message = staff_message_send(case=case, sender=org.handler_a1, body="Hej")
    assert message_notify(message_id=message.pk) == []
    assert mail.outbox == [] and sms.outbox == []


@pytest.mark.django_db
def test_sweep_enqueues_only_unsent_staff_messages_to_citizens_who_want_notifications(org, monkeypatch):
    enqueued = []
    monkeypatch.setattr(
        "eservices.tasks.notify_citizen.delay", lambda **kw: enqueued.append(kw["message_id"])
    )
    old = timezone.now() - timedelta(minutes=10)
    wants = _notified_case(org)
    lost = message_store(thread=wants.thread, sender=org.handler_a1, body="Tappad", created_at=old)
    done = message_store(thread=wants.thread, sender=org.handler_a1, body="Skickad", created_at=old)
    message_notify(message_id=done.pk)
    recent = message_store(thread=wants.thread, sender=org.handler_a1, body="Ny")
    note = message_store(
        thread=wants.thread, sender=org.handler_a1, body="Not", kind=Message.Kind.NOTE, created_at=old
    )
    own = message_store(thread=wants.thread, sender=wants.citizen.user, body="Eget", created_at=old)
    silent = _notified_case(org, channel=Citizen.Channel.NONE)
    unwanted = message_store(thread=silent.thread, sender=org.handler_a1, body="Tyst", created_at=old)

    assert notify_sweep() == 1
    assert enqueued == [lost.pk]
    assert {recent.pk, note.pk, own.pk, unwanted.pk, done.pk}.isdisjoint(enqueued)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_mail_backend_raising_the_message_is_stored_routed_and_notification_retried(
    purged_queue, live_celery_worker, live_org
):
    org = live_org
    with override_settings(**FLAKY):
        FlakyEmail.reset(1)
        case = _notified_case(org, channel=Citizen.Channel.EMAIL)
        with transaction.atomic():
            message = staff_message_send(case=case, sender=org.handler_a1, body="Svar från handläggaren")
        assert Message.objects.filter(pk=message.pk).exists()
        assert wait_for(lambda: Message.objects.get(pk=message.pk).routed_at is not None)
        # The log row is committed after the backend returns: wait for it, not for the outbox.
        sent = NotificationLog.objects.filter(message=message, sent_at__isnull=False)
        assert wait_for(sent.exists, timeout=30)
        assert len(mail.outbox) == 1
        assert FlakyEmail.calls == 2
        log = NotificationLog.objects.get(message=message)
        assert log.attempts == 2 and log.sent_at is not None
        assert "Svar från handläggaren" not in mail.outbox[0].body
