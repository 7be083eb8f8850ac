"""Reads other apps rely on: the mail tip, handler_is_away, forward targets, overview counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from absence.selectors import (
    absences_by_unit,
    away_notices_for_mailboxes,
    default_forward_target,
    forward_target_choices,
    handler_is_away,
    unit_overviews,
)
from absence.services import absence_end
from mailboxes.models import Unit
from mailboxes.services import mailbox_personal_for, membership_add
from tests import factories
from tests.absence.helpers import citizen_writes, planned, sick_leave

pytestmark = pytest.mark.django_db


def test_mail_tip_says_who_is_away_until_when_and_where_it_goes(org):
    ends = timezone.now() + timedelta(days=4)
    planned(
        org.handler_a1,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=ends,
        message_to_colleagues="Brådskande: ring Bo",
        reason="Privat",
    )
    notices = away_notices_for_mailboxes(
        [mailbox_personal_for(org.handler_a1), mailbox_personal_for(org.handler_a2), org.unit_a.group_mailbox]
    )
    assert len(notices) == 1
    notice = notices[0]
    assert notice.user_id == org.handler_a1.pk
    assert notice.name == "Anna Andersson"
    assert notice.until == ends
    assert notice.goes_to == [org.unit_a.group_mailbox.name]
    assert notice.message_to_colleagues == "Brådskande: ring Bo"
    assert "Privat" not in repr(notice)


def test_mail_tip_follows_the_chain(org):
    Unit.objects.filter(pk=org.unit_a.pk).update(allows_deputy_forwarding=True)
    sick_leave(org.handler_a2)
    sick_leave(org.handler_a1, forward_to=mailbox_personal_for(org.handler_a2))
    (notice,) = away_notices_for_mailboxes([mailbox_personal_for(org.handler_a1)])
    assert notice.until is None
    assert notice.goes_to == ["Bo Berg", org.unit_a.group_mailbox.name]


def test_handler_is_away_follows_the_period(org):
    assert not handler_is_away(org.handler_a1.pk)
    assert not handler_is_away(None)
    absence = sick_leave(org.handler_a1)
    assert handler_is_away(org.handler_a1.pk)
    absence_end(absence=absence, actor=org.admin)
    assert not handler_is_away(org.handler_a1.pk)
    later = timezone.now() + timedelta(days=10)
    planned(org.handler_a1, starts_at=later, ends_at=later + timedelta(days=1))
    assert not handler_is_away(org.handler_a1.pk)
    assert handler_is_away(org.handler_a1.pk, later + timedelta(hours=1))


def test_forward_targets_are_own_groups_and_deputies_only_where_allowed(org):
    assert forward_target_choices(org.handler_a1) == [org.unit_a.group_mailbox]
    assert default_forward_target(org.handler_a1) == org.unit_a.group_mailbox
    membership_add(unit=org.unit_b, user=org.handler_a1)
    assert set(forward_target_choices(org.handler_a1)) == {org.unit_a.group_mailbox, org.unit_b.group_mailbox}
    assert default_forward_target(org.handler_a1) is None  # several units: they choose
    Unit.objects.filter(pk=org.unit_b.pk).update(allows_deputy_forwarding=True)
    choices = forward_target_choices(org.handler_a1)
    assert mailbox_personal_for(org.handler_b1) in choices
    assert mailbox_personal_for(org.handler_a2) not in choices  # unit A does not allow deputies
    assert mailbox_personal_for(org.handler_a1) not in choices


def test_absences_by_unit_lists_current_and_planned_in_flat_queries(org, django_assert_num_queries):
    sick_leave(org.handler_a1)
    later = timezone.now() + timedelta(days=7)
    planned(org.handler_b1, starts_at=later, ends_at=later + timedelta(days=2))
    with django_assert_num_queries(3):
        buckets = {b.unit.pk: b for b in absences_by_unit()}
        names = [a.handler.display_name for b in buckets.values() for a in b.current + b.upcoming]
    assert [a.handler for a in buckets[org.unit_a.pk].current] == [org.handler_a1]
    assert [a.handler for a in buckets[org.unit_b.pk].upcoming] == [org.handler_b1]
    assert len(names) == 2
    for _ in range(4):
        person = factories.staff(units=(org.unit_a,))
        sick_leave(person)
    with django_assert_num_queries(3):
        buckets = absences_by_unit()
        [a.forward_to.name for b in buckets for a in b.current]


def test_unit_overview_counts_and_own_units_only(org):
    case = factories.case(eservice_obj=org.eservice_a)
    citizen_writes(case, "Ett")
    citizen_writes(case, "Två")
    sick_leave(org.handler_a1)
    (overview,) = unit_overviews(user=org.manager_a)
    assert overview.unit == org.unit_a
    assert overview.unread == 2
    assert overview.untaken == 2
    assert overview.oldest_unread_at is not None
    assert [a.handler for a in overview.current] == [org.handler_a1]
    assert unit_overviews(user=org.handler_a1) == []  # no overview permission
