"""The routing decision: where a message goes when people are away."""

import pytest
from django.test import override_settings

from absence.routing import plan_deliveries, route_message
from absence.services import absence_end
from mailboxes.models import Delivery, MailboxThread, Message, Unit
from mailboxes.services import mailbox_personal_for, membership_add
from tests import factories
from tests.absence.helpers import citizen_writes, delivery, internal_message, mailboxes_of, sick_leave

pytestmark = pytest.mark.django_db


def _allow_deputies(unit: Unit) -> None:
    Unit.objects.filter(pk=unit.pk).update(allows_deputy_forwarding=True)
    unit.refresh_from_db()


def test_citizen_message_to_present_handler_goes_only_to_their_mailbox(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_a1).pk}


def test_citizen_reply_goes_to_group_mailbox_when_handler_on_sick_leave(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1, actor=org.admin)
    message = citizen_writes(case)

    personal = mailbox_personal_for(org.handler_a1)
    group = org.unit_a.group_mailbox
    assert mailboxes_of(message) == {personal.pk, group.pk}
    original = delivery(message, personal)
    copy = delivery(message, group)
    # Stays in the handler's mailbox, marked as forwarded; the copy says for whom.
    assert original.read_at is None
    assert original.away_forwarded_at is not None
    assert copy.reason == Delivery.Reason.FORWARDED_ABSENCE
    assert copy.forwarded_for == org.handler_a1
    assert copy.forwarded_from == original
    summary = MailboxThread.objects.get(mailbox=group, thread=case.thread)
    assert summary.forwarded_for_name == "Anna Andersson"
    assert summary.unread_count == 1


def test_unassigned_case_goes_to_the_units_group_mailbox(org):
    case = factories.case(eservice_obj=org.eservice_a)
    message = citizen_writes(case)
    assert mailboxes_of(message) == {org.unit_a.group_mailbox.pk}


def test_routing_twice_delivers_once(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    sick_leave(org.handler_a1)
    message = citizen_writes(case)
    Message.objects.filter(pk=message.pk).update(routed_at=None)  # as if the first run's mark was lost
    assert route_message(message_id=message.pk) == []
    assert Delivery.objects.filter(message=message).count() == 2


def test_message_after_the_end_goes_to_the_handler_again(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    absence = sick_leave(org.handler_a1, actor=org.admin)
    during = citizen_writes(case, "Under frånvaron")
    absence_end(absence=absence, actor=org.admin)
    after = citizen_writes(case, "Efter frånvaron")

    group = org.unit_a.group_mailbox
    assert group.pk in mailboxes_of(during)
    assert mailboxes_of(after) == {mailbox_personal_for(org.handler_a1).pk}
    # Nothing moved back: the forwarded copy is still in the group mailbox, unread.
    assert delivery(during, group).read_at is None


def test_reopened_conversation_is_forwarded_not_routed_back_to_the_absent_handler(org):
    """A citizen writes again in an old thread the handler answered before going away."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case, "Första")
    sick_leave(org.handler_a1)
    again = citizen_writes(case, "Jag skriver igen i samma tråd")
    assert org.unit_a.group_mailbox.pk in mailboxes_of(again)


def test_internal_message_to_absent_colleague_is_forwarded(org):
    sick_leave(org.handler_a1)
    message = internal_message(org.handler_b1, [org.handler_a1])
    assert mailboxes_of(message) == {
        mailbox_personal_for(org.handler_b1).pk,  # the sender's sent copy
        mailbox_personal_for(org.handler_a1).pk,
        org.unit_a.group_mailbox.pk,
    }


def test_forwarding_to_a_present_deputy_ends_there(org):
    _allow_deputies(org.unit_a)
    deputy = mailbox_personal_for(org.handler_a2)
    sick_leave(org.handler_a1, forward_to=deputy)
    plans = plan_deliveries(intended=mailbox_personal_for(org.handler_a1))
    assert [p.mailbox_id for p in plans] == [mailbox_personal_for(org.handler_a1).pk, deputy.pk]


def test_chain_follows_an_absent_deputys_own_forwarding(org):
    _allow_deputies(org.unit_a)
    a1, a2 = mailbox_personal_for(org.handler_a1), mailbox_personal_for(org.handler_a2)
    sick_leave(org.handler_a2)  # a2 → group
    sick_leave(org.handler_a1, forward_to=a2)  # a1 → a2 (away) → group
    message = internal_message(org.handler_b1, [org.handler_a1])
    group = org.unit_a.group_mailbox
    assert mailboxes_of(message) >= {a1.pk, a2.pk, group.pk}
    group_copy = delivery(message, group)
    assert group_copy.forwarded_from == delivery(message, a2)
    assert group_copy.forwarded_for == org.handler_a2


def test_forwarding_loop_a_b_a_ends_in_a_group_mailbox(org):
    _allow_deputies(org.unit_a)
    a1, a2 = mailbox_personal_for(org.handler_a1), mailbox_personal_for(org.handler_a2)
    sick_leave(org.handler_a1, forward_to=a2)
    sick_leave(org.handler_a2, forward_to=a1)

    plans = plan_deliveries(intended=a1)
    assert [p.mailbox_id for p in plans] == [a1.pk, a2.pk, org.unit_a.group_mailbox.pk]
    message = internal_message(org.handler_b1, [org.handler_a1])
    assert delivery(message, org.unit_a.group_mailbox).reason == Delivery.Reason.FORWARDED_ABSENCE


@override_settings(FORWARDING_MAX_DEPTH=2)
def test_a_long_chain_is_cut_at_the_depth_limit_in_a_group_mailbox(org):
    _allow_deputies(org.unit_a)
    people = [org.handler_a1, org.handler_a2, org.manager_a]
    extra = factories.staff(units=(org.unit_a,))
    people.append(extra)
    # a1 → a2 → manager → extra, everyone away: depth 2 reached after a2 → the group mailbox.
    for person, nxt in zip(people, people[1:], strict=False):
        sick_leave(person, forward_to=mailbox_personal_for(nxt))
    plans = plan_deliveries(intended=mailbox_personal_for(org.handler_a1))
    ids = [p.mailbox_id for p in plans]
    assert ids[-1] == org.unit_a.group_mailbox.pk
    assert len(ids) == 4  # a1, a2, manager, then cut: group


def test_loop_with_first_person_without_unit_ends_in_the_next_persons_group(org):
    """A deputy chain where the first absent person has no unit still ends in a group mailbox."""
    _allow_deputies(org.unit_a)
    loner = factories.staff()  # no unit
    a1 = mailbox_personal_for(org.handler_a1)
    membership_add(unit=org.unit_a, user=loner)
    sick_leave(loner, forward_to=a1)
    sick_leave(org.handler_a1, forward_to=mailbox_personal_for(loner))
    # Remove the loner from the unit afterwards: the configured loop has no group for them.
    from mailboxes.services import membership_remove

    membership_remove(unit=org.unit_a, user=loner)
    plans = plan_deliveries(intended=mailbox_personal_for(loner))
    assert plans[-1].mailbox_id == org.unit_a.group_mailbox.pk


def test_group_mailbox_recipient_is_never_forwarded(org):
    message = internal_message(org.handler_b1, [org.unit_a.group_mailbox])
    assert mailboxes_of(message) == {mailbox_personal_for(org.handler_b1).pk, org.unit_a.group_mailbox.pk}
