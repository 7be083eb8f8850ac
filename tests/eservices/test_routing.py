"""Citizen messages reach the handler's personal mailbox, or the unit's group mailbox when the case has
no handler; routing is idempotent. The worker tests run a real Celery worker on the test broker."""

import pytest
from django.db import transaction

from absence.routing import route_message
from absence.tasks import route_message_task
from eservices.services import citizen_conversation_start, citizen_message_send
from mailboxes.models import Delivery, MailboxThread, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import wait_for


@pytest.mark.django_db
def test_message_in_case_without_handler_lands_in_the_eservice_units_group_mailbox(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=None)
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    route_message(message_id=message.pk)
    assert list(Delivery.objects.filter(message=message).values_list("mailbox_id", flat=True)) == [
        org.eservice_a.unit.group_mailbox.pk
    ]


@pytest.mark.django_db
def test_message_in_assigned_case_lands_in_the_handlers_personal_mailbox(org, case_a):
    message = citizen_message_send(case=case_a, citizen_user=case_a.citizen.user, body="Hej")
    route_message(message_id=message.pk)
    assert list(Delivery.objects.filter(message=message).values_list("mailbox_id", flat=True)) == [
        mailbox_personal_for(org.handler_a1).pk
    ]


@pytest.mark.django_db
def test_routing_twice_delivers_once(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=None)
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    route_message(message_id=message.pk)
    Message.objects.filter(pk=message.pk).update(routed_at=None)  # as if the first run's mark was lost
    route_message(message_id=message.pk)
    assert Delivery.objects.filter(message=message).count() == 1
    summary = MailboxThread.objects.get(mailbox=org.unit_a.group_mailbox, thread=case.thread)
    assert (summary.message_count, summary.unread_count) == (1, 1)


@pytest.mark.django_db
def test_citizen_started_conversation_goes_to_the_chosen_units_group_mailbox(org, ifo):
    citizen = factories.citizen()
    case = citizen_conversation_start(
        citizen=citizen, eservice=ifo, topic=ifo.topics.get(topic="adults"), subject="Fråga", body="Hej"
    )
    message = Message.objects.get(thread=case.thread)
    route_message(message_id=message.pk)
    assert list(Delivery.objects.filter(message=message).values_list("mailbox_id", flat=True)) == [
        org.unit_b.group_mailbox.pk
    ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_routes_citizen_message_after_commit_to_the_group_mailbox(
    purged_queue, live_celery_worker, live_org
):
    org = live_org
    case = factories.case(eservice_obj=org.eservice_a, handler=None)
    with transaction.atomic():
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej från medborgaren")
        assert not Delivery.objects.filter(message=message).exists()
    group = org.unit_a.group_mailbox
    assert wait_for(lambda: Delivery.objects.filter(message=message, mailbox=group).exists())
    assert wait_for(lambda: Message.objects.get(pk=message.pk).routed_at is not None)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_running_the_routing_task_twice_delivers_once(purged_queue, live_celery_worker, live_org):
    org = live_org
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    with transaction.atomic():
        message = citizen_message_send(case=case, citizen_user=case.citizen.user, body="Hej")
    personal = mailbox_personal_for(org.handler_a1)
    assert wait_for(lambda: Delivery.objects.filter(message=message, mailbox=personal).exists())
    # The task keeps no result (ignore_result); this call asks for one to see that it did nothing.
    result = route_message_task.apply_async(kwargs={"message_id": message.pk}, ignore_result=False)
    assert result.get(timeout=10) == 0
    assert Delivery.objects.filter(message=message).count() == 1
