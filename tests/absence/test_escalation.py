"""Escalation to the unit manager when a group mailbox message stays unread too long."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from absence.models import GroupUnreadEscalation
from absence.tasks import escalate_group_unread
from mailboxes.models import Delivery
from mailboxes.services import deliveries_mark_read
from tests import factories
from tests.absence.helpers import citizen_writes

pytestmark = pytest.mark.django_db


def _age(message, hours: float) -> None:
    Delivery.objects.filter(message=message).update(created_at=timezone.now() - timedelta(hours=hours))


@override_settings(GROUP_UNREAD_ESCALATION_HOURS=8)
def test_manager_is_emailed_once_per_message_unread_too_long(org):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    case = factories.case(eservice_obj=org.eservice_a, subject="Känsligt ämne")
    old = citizen_writes(case, "Hemlig text om skulder")
    young = citizen_writes(case, "Nytt")
    _age(old, 9)
    _age(young, 2)

    assert escalate_group_unread() == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["chef@example.invalid"]
    assert org.unit_a.group_mailbox.name in sent.subject
    assert "Hemlig text" not in sent.body and "Känsligt ämne" not in sent.body  # no content
    assert "/franvaro/enhet/" in sent.body
    assert GroupUnreadEscalation.objects.get().delivery.message == old

    # Once per message: the next run sends nothing for it.
    assert escalate_group_unread() == 0
    assert len(mail.outbox) == 1
    # The younger one escalates when its time comes, on its own.
    _age(young, 10)
    assert escalate_group_unread() == 1
    assert len(mail.outbox) == 2


@override_settings(GROUP_UNREAD_ESCALATION_HOURS=8)
def test_read_messages_and_other_units_managers_are_left_alone(org):
    org.manager_a.email = "chef@example.invalid"
    org.manager_a.save(update_fields=["email"])
    other_manager = factories.staff("Enhetschef", units=(org.unit_b,), email="annan@example.invalid")
    case = factories.case(eservice_obj=org.eservice_a)
    read = citizen_writes(case)
    _age(read, 20)
    deliveries_mark_read(mailbox=org.unit_a.group_mailbox, thread=case.thread, user=org.handler_a2)
    assert escalate_group_unread() == 0

    unread = citizen_writes(case, "Oläst")
    _age(unread, 20)
    escalate_group_unread()
    assert [m.to for m in mail.outbox] == [["chef@example.invalid"]]
    assert other_manager.email not in mail.outbox[0].to
