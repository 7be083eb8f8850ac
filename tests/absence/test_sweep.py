"""The periodic sweep: lost routing tasks and guarantee 2 (no unread message only with the absent)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from absence import routing
from absence.models import Absence
from absence.routing import stranded_unread
from absence.tasks import sweep
from mailboxes.models import Delivery
from mailboxes.services import DeliveryPlan, deliveries_create, mailbox_personal_for
from tests import factories
from tests.absence.helpers import citizen_writes, internal_message, mailboxes_of, sick_leave

pytestmark = pytest.mark.django_db


def _later(minutes: int = 2) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


def test_sweep_routes_a_message_whose_task_was_lost_exactly_once(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1)
    message = citizen_writes(case, route=False)  # the on-commit task never ran
    assert not Delivery.objects.filter(message=message).exists()

    assert sweep()["routed"] == 0  # too young: the normal path still has its chance
    assert sweep(now=_later())["routed"] == 1
    assert sweep(now=_later())["routed"] == 0
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_a1).pk, org.unit_a.group_mailbox.pk}
    assert Delivery.objects.filter(message=message).count() == 2
    message.refresh_from_db()
    assert message.routed_at is not None


def test_a_broken_message_does_not_hold_back_the_others(org, monkeypatch):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    broken = citizen_writes(case, "Trasig", route=False)
    good = citizen_writes(case, "Hel", route=False)
    real = routing.intended_mailboxes

    def intended(messages):
        if any(message.pk == broken.pk for message in messages):
            raise RuntimeError("cannot route")
        return real(messages)

    monkeypatch.setattr(routing, "intended_mailboxes", intended)
    result = sweep(now=_later())
    assert (result["routed"], result["failed"]) == (1, 1)
    assert Delivery.objects.filter(message=good).exists()
    broken.refresh_from_db()
    assert broken.routed_at is None  # left for the next sweep
    monkeypatch.setattr(routing, "intended_mailboxes", real)
    assert sweep(now=_later())["routed"] == 1
    assert Delivery.objects.filter(message=broken).count() == 1


def test_sweep_forwards_unread_mail_stranded_with_an_absent_handler(org):
    """An absence whose start processing never ran, and a message delivered around the switch."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)
    absence = Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(minutes=5),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
    )
    personal = mailbox_personal_for(org.handler_a1)
    assert stranded_unread() == {personal.pk: [message.pk]}

    assert sweep()["forwarded"] == 1
    assert stranded_unread() == {}
    assert sweep()["forwarded"] == 0
    copy = Delivery.objects.get(message=message, mailbox=org.unit_a.group_mailbox)
    assert copy.forwarded_for == org.handler_a1
    assert copy.forwarded_from.mailbox == personal
    absence.refresh_from_db()


def test_unread_mail_with_a_present_colleague_is_not_stranded(org):
    from mailboxes.models import Unit

    Unit.objects.filter(pk=org.unit_a.pk).update(allows_deputy_forwarding=True)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, forward_to=mailbox_personal_for(org.handler_a2))
    citizen_writes(case)
    assert stranded_unread() == {}
    # The deputy falls ill too: their start forwards the copy on to the group mailbox.
    sick_leave(org.handler_a2)
    assert stranded_unread() == {}
    assert Delivery.objects.filter(mailbox=org.unit_a.group_mailbox).count() == 1


def test_internal_mail_is_not_kept_back_by_the_senders_own_sent_copy(org):
    message = internal_message(org.handler_b1, [org.handler_a1])
    Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(minutes=5),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
    )
    assert sweep()["forwarded"] == 1
    assert org.unit_a.group_mailbox.pk in mailboxes_of(message)


def test_read_mail_is_not_forwarded_by_the_sweep(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)
    personal = mailbox_personal_for(org.handler_a1)
    Delivery.objects.filter(message=message, mailbox=personal).update(read_at=timezone.now())
    Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(minutes=5),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
    )
    assert sweep()["forwarded"] == 0
    assert mailboxes_of(message) == {personal.pk}


def test_bulk_delivery_service_links_and_is_idempotent(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)
    personal = mailbox_personal_for(org.handler_a1)
    from mailboxes.services import deliveries_create_many

    plan = DeliveryPlan(
        mailbox_id=org.unit_a.group_mailbox.pk,
        reason=Delivery.Reason.FORWARDED_ABSENCE,
        forwarded_for_id=org.handler_a1.pk,
        forwarded_from_mailbox_id=personal.pk,
    )
    assert len(deliveries_create_many(plans_by_message={message.pk: [plan]})) == 1
    assert deliveries_create_many(plans_by_message={message.pk: [plan]}) == []
    assert deliveries_create(message=message, plans=[plan]) == []
    assert Delivery.objects.filter(message=message).count() == 2
