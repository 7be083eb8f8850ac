"""The routing decision: where a message goes when people are away."""

import pytest
from django.test import override_settings

from absence.models import AutoReply
from absence.routing import plan_deliveries, route_message, route_messages
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


# --- batches: what piles up during a burst is routed together ---------------------------------------


def _burst(org, count: int):
    """`count` citizen messages stored and not yet routed: a quarter to a handler on sick leave, the
    rest to a present handler, some of them internal replies too, and one unassigned case."""
    sick_leave(org.handler_a2, actor=org.admin)
    cases = [
        factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2 if i % 4 == 0 else org.handler_a1)
        for i in range(count - 1)
    ] + [factories.case(eservice_obj=org.eservice_a)]
    return [citizen_writes(case, f"Meddelande {i}", route=False) for i, case in enumerate(cases)]


def test_a_batch_routes_every_message_as_one_by_one_would(org):
    messages = _burst(org, 9)
    routed = route_messages(message_ids=[m.pk for m in messages])
    assert set(routed) == {m.pk for m in messages}
    a1, a2 = mailbox_personal_for(org.handler_a1).pk, mailbox_personal_for(org.handler_a2).pk
    group = org.unit_a.group_mailbox.pk
    for i, message in enumerate(messages):
        expected = {group} if i == 8 else ({a2, group} if i % 4 == 0 else {a1})
        assert mailboxes_of(message) == expected, i
        assert {d.mailbox_id for d in routed[message.pk]} == expected
    assert not Message.objects.filter(pk__in=[m.pk for m in messages], routed_at__isnull=True).exists()
    # Out-of-office replies: one per thread of the absent handler (threads 0 and 4), none for others.
    assert AutoReply.objects.filter(absence__handler=org.handler_a2).count() == 2
    summary = MailboxThread.objects.get(mailbox_id=group, thread=messages[0].thread)
    assert (summary.unread_count, summary.forwarded_for_name) == (1, org.handler_a2.display_name)
    assert route_messages(message_ids=[m.pk for m in messages]) == {}


def test_routing_a_batch_costs_the_same_queries_as_routing_one(org, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    one = _burst(org, 2)
    with CaptureQueriesContext(connection) as single:
        route_messages(message_ids=[one[1].pk])  # a present handler's message
    many = [citizen_writes(factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1), route=False)]
    many += [citizen_writes(factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1), route=False)]
    many += [citizen_writes(factories.case(eservice_obj=org.eservice_a, handler=org.handler_b1), route=False)]
    many += [citizen_writes(factories.case(eservice_obj=org.eservice_a), route=False)]
    with django_assert_max_num_queries(len(single.captured_queries) + 2):
        routed = route_messages(message_ids=[m.pk for m in many])
    assert len(routed) == 4 and all(routed.values())


def test_the_routing_task_takes_along_recent_messages_waiting_but_not_old_ones(org):
    from datetime import timedelta

    from django.utils import timezone

    from absence.tasks import route_message_task

    messages = _burst(org, 5)
    stale = messages[-1]
    Message.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    # The task of the first message routes the others stored within the sweep age as well.
    assert route_message_task.apply(kwargs={"message_id": messages[0].pk}).get() > 0
    waiting = set(Message.objects.filter(routed_at__isnull=True).values_list("pk", flat=True))
    assert waiting == {stale.pk}  # left to the sweep (or its own task)
    # The tasks of the messages taken along find them routed and do nothing.
    assert route_message_task.apply(kwargs={"message_id": messages[1].pk}).get() == 0
    assert route_message_task.apply(kwargs={"message_id": stale.pk}).get() == 1
    assert Delivery.objects.filter(message=messages[1]).count() == 1


def test_a_batch_takes_at_most_its_size_oldest_first(org):
    messages = _burst(org, 6)
    routed = route_messages(message_ids=[messages[5].pk], batch_mates=2)
    assert set(routed) == {messages[5].pk, messages[0].pk, messages[1].pk}


@override_settings(ROUTING_BATCH_SIZE=3)
def test_the_routing_task_goes_on_while_batches_come_back_full(org):
    from absence.tasks import route_message_task

    messages = _burst(org, 7)
    route_message_task.apply(kwargs={"message_id": messages[6].pk})
    assert not Message.objects.filter(pk__in=[m.pk for m in messages], routed_at__isnull=True).exists()
