"""Guarantee 8, the rule: a message is forwarded if its handler was away when it was written or is
away when it is routed. The routing run and the sweep's re-check both follow it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from absence.models import Absence
from absence.routing import route_messages, stranded_unread
from absence.services import absence_end
from absence.tasks import sweep
from mailboxes.models import Delivery, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.absence.helpers import citizen_writes, delivery, internal_message, mailboxes_of, sick_leave

pytestmark = pytest.mark.django_db


def _ended_absence(handler, forward_to, *, starts_at, ended_at, set_by) -> Absence:
    """An absence over and done with (as the clock and absence_end leave one)."""
    return Absence.objects.create(
        handler=handler,
        kind=Absence.Kind.UNPLANNED,
        starts_at=starts_at,
        ended_at=ended_at,
        end_processed_at=ended_at,
        started_processed_at=starts_at,
        forward_to=forward_to,
        set_by=set_by,
    )


def test_message_written_during_an_absence_routed_after_its_end_is_forwarded(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    absence = sick_leave(org.handler_a1, actor=org.admin)
    during = citizen_writes(case, "Skrivet under frånvaron", route=False)
    absence_end(absence=absence, actor=org.admin)
    after = citizen_writes(case, "Skrivet efter frånvaron", route=False)

    route_messages(message_ids=[during.pk, after.pk])  # one batch, two moments of writing

    personal, group = mailbox_personal_for(org.handler_a1), org.unit_a.group_mailbox
    assert mailboxes_of(during) == {personal.pk, group.pk}
    assert delivery(during, group).forwarded_for == org.handler_a1
    assert delivery(during, group).forwarded_from == delivery(during, personal)
    assert mailboxes_of(after) == {personal.pk}


def test_when_away_at_both_moments_the_current_absence_decides_the_target(org):
    from mailboxes.models import Unit

    Unit.objects.filter(pk=org.unit_a.pk).update(allows_deputy_forwarding=True)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    deputy = mailbox_personal_for(org.handler_a2)
    first = sick_leave(org.handler_a1, actor=org.admin, forward_to=deputy)
    message = citizen_writes(case, route=False)
    absence_end(absence=first, actor=org.admin)
    sick_leave(org.handler_a1, actor=org.admin)  # away again, now to the group mailbox

    route_messages(message_ids=[message.pk])
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_a1).pk, org.unit_a.group_mailbox.pk}


def test_a_deputy_away_when_the_message_was_written_passes_it_on(org):
    """The chain follows the same rule at every step: the deputy was away at writing, back at routing."""
    from mailboxes.models import Unit

    Unit.objects.filter(pk=org.unit_a.pk).update(allows_deputy_forwarding=True)
    a1, a2 = mailbox_personal_for(org.handler_a1), mailbox_personal_for(org.handler_a2)
    deputy_absence = sick_leave(org.handler_a2, actor=org.admin)
    sick_leave(org.handler_a1, actor=org.admin, forward_to=a2)
    message = internal_message(org.handler_b1, [org.handler_a1], route=False)
    absence_end(absence=deputy_absence, actor=org.admin)

    route_messages(message_ids=[message.pk])
    assert mailboxes_of(message) >= {a1.pk, a2.pk, org.unit_a.group_mailbox.pk}
    assert delivery(message, org.unit_a.group_mailbox).forwarded_for == org.handler_a2


def test_sweep_forwards_a_message_written_during_an_absence_that_reached_only_the_returned_handler(org):
    """As routing by the moment of routing alone left it: the worker was down across the absence's
    end, and the message went only to the handler, who is back and has not read it."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)  # nobody away at routing: the handler's mailbox only
    personal, group = mailbox_personal_for(org.handler_a1), org.unit_a.group_mailbox
    _ended_absence(
        org.handler_a1,
        group,
        starts_at=message.created_at - timedelta(minutes=10),
        ended_at=timezone.now(),  # after the message: it was written during the absence
        set_by=org.admin,
    )
    assert stranded_unread() == {personal.pk: [message.pk]}

    assert sweep()["forwarded"] == 1
    assert stranded_unread() == {}
    assert sweep()["forwarded"] == 0
    copy = delivery(message, group)
    assert copy.reason == Delivery.Reason.FORWARDED_ABSENCE and copy.forwarded_for == org.handler_a1


def test_sweep_leaves_alone_what_was_written_outside_the_absence_or_has_been_read(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    before = citizen_writes(case, "Före")
    read = citizen_writes(case, "Läst")
    personal, group = mailbox_personal_for(org.handler_a1), org.unit_a.group_mailbox
    Delivery.objects.filter(message=read, mailbox=personal).update(read_at=timezone.now())
    _ended_absence(
        org.handler_a1,
        group,
        starts_at=before.created_at + timedelta(microseconds=1),
        ended_at=timezone.now(),
        set_by=org.admin,
    )
    after = citizen_writes(case, "Efter")
    assert stranded_unread() == {}
    assert sweep()["forwarded"] == 0
    for message in (before, read, after):
        assert mailboxes_of(message) == {personal.pk}


def test_a_cancelled_absence_forwards_nothing(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    now = timezone.now()
    planned = Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.PLANNED,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.handler_a1,
    )
    absence_end(absence=planned, actor=org.handler_a1)  # cancelled before it began
    message = citizen_writes(case)
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_a1).pk}
    assert Message.objects.get(pk=message.pk).routed_at is not None
