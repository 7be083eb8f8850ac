from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent
from eservices.models import Case, Citizen
from eservices.permissions import can_send_to_citizen
from eservices.services import (
    AssignmentConflict,
    CaseClosed,
    assignment_token,
    case_assign,
    case_mark_read_by_citizen,
    citizen_conversation_start,
    citizen_from_eid,
    citizen_message_send,
    citizen_message_write,
    citizen_notification_settings_update,
    staff_message_send,
)
from mailboxes.attachments import attachments_store, validate_upload
from mailboxes.models import Attachment, Delivery, Message
from tests import factories
from tests.eservices.conftest import pdf_upload

pytestmark = pytest.mark.django_db

# Routing is enqueued with apply_async (a countdown when coalescing; see absence.routing).
ROUTE_ENQUEUE = "absence.tasks.route_message_task.apply_async"


def test_citizen_message_is_stored_at_once_and_routing_enqueued_on_commit(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(ROUTE_ENQUEUE, lambda kwargs=None, **options: enqueued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body="Hej!")
        # Stored (the citizen sees it as sent) before routing ran.
        assert Message.objects.filter(pk=message.pk, routed_at__isnull=True).exists()
        assert enqueued == []
    assert len(callbacks) == 1
    assert enqueued == [{"message_id": message.pk}]


def test_another_citizen_cannot_write_in_the_case(org, case_a):
    intruder = factories.citizen()
    with pytest.raises(PermissionDenied):
        citizen_message_send(case=case_a, citizen_user=intruder.user, body="Hej")
    assert not Message.objects.filter(thread=case_a.thread).exists()


def test_closed_case_refuses_citizen_messages(org, case_a):
    Case.objects.filter(pk=case_a.pk).update(status=Case.Status.CLOSED)
    case_a.refresh_from_db()
    with pytest.raises(CaseClosed):
        citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body="Hej")


def test_citizen_message_write_stores_and_attaches_uploads(org, case_a):
    upload = pdf_upload()
    files = [(upload, validate_upload(upload))]
    message = citizen_message_write(
        case=case_a, citizen_user=case_a.citizen.user, body="Se bilaga", files=files
    )
    attachment = Attachment.objects.get(message=message)
    assert attachment.filename == "intyg.pdf"
    assert attachment.content_type == "application/pdf"


def _stored(name: str, *, uploaded_by) -> Attachment:
    upload = pdf_upload(name)
    [attachment] = attachments_store([(upload, validate_upload(upload))], uploaded_by=uploaded_by)
    return attachment


def test_citizen_message_write_attaches_kept_uploads_with_the_new_ones(org, case_a):
    kept = _stored("tidigare.pdf", uploaded_by=case_a.citizen.user)
    upload = pdf_upload("ny.pdf")
    message = citizen_message_write(
        case=case_a,
        citizen_user=case_a.citizen.user,
        body="Två bilagor",
        files=[(upload, validate_upload(upload))],
        kept=[kept],
    )
    assert sorted(a.filename for a in message.attachments.all()) == ["ny.pdf", "tidigare.pdf"]


@pytest.mark.parametrize("owner", ["another citizen", "staff"])
def test_citizen_message_write_refuses_someone_elses_upload(org, case_a, owner):
    uploader = factories.citizen().user if owner == "another citizen" else org.handler_a1
    theirs = _stored("annans.pdf", uploaded_by=uploader)
    with pytest.raises(PermissionDenied):
        citizen_message_write(case=case_a, citizen_user=case_a.citizen.user, body="Hej", kept=[theirs])
    assert not Message.objects.filter(thread=case_a.thread).exists()
    theirs.refresh_from_db()
    assert theirs.message is None


def test_conversation_start_creates_case_without_handler_in_the_topics_unit(org, ifo):
    citizen = factories.citizen()
    adults = ifo.topics.get(topic="adults")
    case = citizen_conversation_start(
        citizen=citizen, eservice=ifo, topic=adults, subject="Boende", body="Jag behöver hjälp."
    )
    assert case.unit == org.unit_b
    assert case.handler is None
    assert case.eservice == ifo
    assert list(Message.objects.filter(thread=case.thread).values_list("body", flat=True)) == [
        "Jag behöver hjälp."
    ]
    assert AuditEvent.objects.filter(
        action="case.create", target_id=str(case.pk), actor=citizen.user
    ).exists()


def test_conversation_start_requires_a_topic_when_the_eservice_has_topics(org, ifo):
    with pytest.raises(ValidationError):
        citizen_conversation_start(
            citizen=factories.citizen(), eservice=ifo, topic=None, subject="x", body="y"
        )
    assert not Case.objects.filter(eservice=ifo).exists()


def test_conversation_start_refused_for_an_eservice_citizens_cannot_start(org):
    with pytest.raises(PermissionDenied):
        citizen_conversation_start(
            citizen=factories.citizen(), eservice=org.eservice_a, topic=None, subject="x", body="y"
        )


def test_case_assign_moves_the_send_permission_and_is_audited(org, case_a):
    assert can_send_to_citizen(user=org.handler_a1, case=case_a)
    case_assign(
        case=case_a, handler=org.handler_a2, co_handlers=[org.handler_a1], actor=org.manager_a, reason="Byte"
    )
    # Fresh user objects: guardian caches permissions per user instance.
    a1 = type(org.handler_a1).objects.get(pk=org.handler_a1.pk)
    a2 = type(org.handler_a2).objects.get(pk=org.handler_a2.pk)
    assert can_send_to_citizen(user=a2, case=case_a)
    assert can_send_to_citizen(user=a1, case=case_a)  # now co-handler
    case_assign(case=case_a, handler=org.handler_a2, co_handlers=[], actor=org.manager_a)
    a1 = type(org.handler_a1).objects.get(pk=org.handler_a1.pk)
    assert not can_send_to_citizen(user=a1, case=case_a)
    events = list(AuditEvent.objects.filter(action="case.assign", target_id=str(case_a.pk)).order_by("id"))
    assert events[-2].actor == org.manager_a
    assert events[-2].reason == "Byte"
    assert events[-2].after == {"handler": org.handler_a2.username, "co_handlers": [org.handler_a1.username]}
    assert events[-1].before == events[-2].after


def test_case_assign_with_a_stale_token_writes_nothing(org, case_a):
    token = assignment_token(case_a)
    case_assign(case=case_a, handler=org.handler_a2, co_handlers=[], actor=org.admin)
    before = AuditEvent.objects.count()
    with pytest.raises(AssignmentConflict):
        case_assign(case=case_a, handler=None, co_handlers=[], actor=org.manager_a, expected_token=token)
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a2
    assert AuditEvent.objects.count() == before


def test_citizen_cannot_be_made_handler(org, case_a):
    with pytest.raises(ValidationError):
        case_assign(case=case_a, handler=case_a.citizen.user, co_handlers=[], actor=org.manager_a)


def test_staff_message_send_refuses_anyone_but_handler_and_co_handlers(org, case_a):
    with pytest.raises(PermissionDenied):
        staff_message_send(case=case_a, sender=org.handler_a2, body="Hej")
    with pytest.raises(PermissionDenied):
        staff_message_send(case=case_a, sender=org.manager_a, body="Hej")
    assert not Message.objects.filter(thread=case_a.thread).exists()


def test_staff_message_send_enqueues_routing_and_notification_on_commit(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    monkeypatch.setattr(ROUTE_ENQUEUE, lambda kwargs=None, **options: calls.append(("route", kwargs)))
    monkeypatch.setattr("eservices.tasks.notify_citizen.delay", lambda **kw: calls.append(("notify", kw)))
    with django_capture_on_commit_callbacks(execute=True):
        message = staff_message_send(case=case_a, sender=org.handler_a1, body="Svar")
        assert calls == []
    assert sorted(calls) == [("notify", {"message_id": message.pk}), ("route", {"message_id": message.pk})]
    # The sender's own copy shows as sent in their personal mailbox.
    assert Delivery.objects.filter(message=message, reason=Delivery.Reason.SENT).count() == 1


def test_staff_message_stored_even_when_the_broker_is_down(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(ROUTE_ENQUEUE, down)
    monkeypatch.setattr("eservices.tasks.notify_citizen.delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        message = staff_message_send(case=case_a, sender=org.handler_a1, body="Svar")
    assert Message.objects.filter(pk=message.pk).exists()


def test_citizen_read_state_never_moves_back(org, case_a):
    later = timezone.now()
    case_mark_read_by_citizen(case=case_a, up_to=later)
    case_mark_read_by_citizen(case=case_a, up_to=later - timedelta(hours=1))
    case_a.refresh_from_db()
    assert case_a.citizen_last_read_at == later


def test_notification_settings_audit_records_channel_but_no_address(org):
    citizen = factories.citizen()
    citizen_notification_settings_update(
        citizen=citizen, channel=Citizen.Channel.EMAIL, email="person@example.invalid"
    )
    citizen.refresh_from_db()
    assert citizen.notify_channel == "email"
    event = AuditEvent.objects.get(action="citizen.notification_settings", target_id=str(citizen.pk))
    assert event.after == {"channel": "email", "email_changed": True, "phone_changed": False}
    assert "person@example.invalid" not in str(event.before) + str(event.after)


def test_eid_login_updates_names_from_the_population_register(org):
    citizen = factories.citizen(first="Gammalt", last="Namn")
    again = citizen_from_eid(personnummer=citizen.personnummer, first_name="Nytt", last_name="Efternamn")
    assert again.pk == citizen.pk
    assert (again.first_name, again.last_name) == ("Nytt", "Efternamn")
    assert again.user.get_full_name() == "Nytt Efternamn"


def test_under_a_burst_one_queued_routing_task_stands_for_the_messages_after_it(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    from absence.routing import routing_wakeup_clear

    enqueued = []
    monkeypatch.setattr(ROUTE_ENQUEUE, lambda kwargs=None, **options: enqueued.append(kwargs["message_id"]))

    def send(body: str) -> Message:
        with django_capture_on_commit_callbacks(execute=True):
            return citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body=body)

    first, second, third = send("1"), send("2"), send("3")
    assert enqueued == [first.pk]  # the task for the first takes the others along
    routing_wakeup_clear()  # what that task does when it starts, before it looks for messages
    fourth = send("4")
    assert enqueued == [first.pk, fourth.pk]
    assert {second.pk, third.pk}.isdisjoint(enqueued)


@override_settings(ROUTING_COALESCE_SECONDS=0)
def test_without_coalescing_every_message_enqueues_its_own_routing(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(ROUTE_ENQUEUE, lambda kwargs=None, **options: enqueued.append(kwargs["message_id"]))
    with django_capture_on_commit_callbacks(execute=True):
        first = citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body="1")
    with django_capture_on_commit_callbacks(execute=True):
        second = citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body="2")
    assert enqueued == [first.pk, second.pk]


def test_a_failed_enqueue_leaves_no_wakeup_behind(
    org, case_a, django_capture_on_commit_callbacks, monkeypatch
):
    attempts = []

    def down(kwargs=None, **options):
        attempts.append(kwargs["message_id"])
        raise ConnectionError("broker down")

    monkeypatch.setattr(ROUTE_ENQUEUE, down)
    for body in ("1", "2"):
        with django_capture_on_commit_callbacks(execute=True):
            citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body=body)
    assert len(attempts) == 2  # the second message tried again: nothing was queued for it
