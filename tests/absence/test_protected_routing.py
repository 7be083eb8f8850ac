"""Property (guarantee 9): whatever absences (with whatever forward targets, group mailboxes and
deputies included), whoever the case's co-handlers are and whether it has a handler, a protected
citizen's message, also after the start-of-absence forwarding and the sweep, is readable by at least
one named person (handler, co-handler, unit manager) and never by anyone else: no group mailbox
holds it and no personal mailbox of someone unnamed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from absence.models import Absence
from absence.services import absence_create
from absence.tasks import sweep
from eservices.services import case_assign, citizen_protected_identity_set
from mailboxes.models import Delivery, Mailbox, Unit
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.absence.helpers import citizen_writes
from tests.conftest import login

pytestmark = pytest.mark.django_db

# handler_a1, handler_a2, extra (unit A, possible co-handlers), manager_a, handler_b1 (unit B)
PEOPLE = 5
TARGETS = ["group", "none", 0, 1, 2, 3, 4]


@pytest.fixture
def world(org):
    Unit.objects.filter(pk__in=[org.unit_a.pk, org.unit_b.pk]).update(allows_deputy_forwarding=True)
    extra = factories.staff(units=(org.unit_a,), first_name="Ella", last_name="Extra")
    people = [org.handler_a1, org.handler_a2, extra, org.manager_a, org.handler_b1]
    return org, people


def _away(person, target, people, org):
    if target == "none":
        return
    if target == "group" or people[target] == person:
        forward_to = person.units.order_by("name").first().group_mailbox
    else:
        forward_to = mailbox_personal_for(people[target])
    try:
        _sick_call(person, forward_to, org)
    except ValidationError:  # a deputy the unit does not allow: the group mailbox, as the form says
        _sick_call(person, person.units.order_by("name").first().group_mailbox, org)


def _sick_call(person, forward_to, org):
    absence_create(
        handler=person,
        actor=org.admin,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=forward_to,
    )


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(assigned=True, co=[], away=["group", "none", "none", "none", "none"], before=True)
@example(assigned=True, co=[1], away=["group", "group", "none", "none", "none"], before=False)
@example(assigned=False, co=[], away=["none", "none", "none", "group", "none"], before=False)
@example(assigned=True, co=[2], away=[1, 3, "group", "group", "none"], before=True)
@given(
    assigned=st.booleans(),
    co=st.lists(st.sampled_from([1, 2]), max_size=2, unique=True),
    away=st.lists(st.sampled_from(TARGETS), min_size=PEOPLE, max_size=PEOPLE),
    before=st.booleans(),
)
def test_a_protected_citizens_message_stays_with_named_people(world, client, assigned, co, away, before):
    org, people = world
    with transaction.atomic():
        case = factories.case(eservice_obj=org.eservice_a, handler=people[0] if assigned else None)
        if co:
            case_assign(case=case, handler=case.handler, co_handlers=[people[i] for i in co], actor=org.admin)
        citizen_protected_identity_set(citizen=case.citizen, protected=True, actor=org.admin, reason="Beslut")
        if before:  # written before the absences start: the start's forwarding moves it
            message = citizen_writes(case)
        for person, target in zip(people, away, strict=True):
            _away(person, target, people, org)
        if not before:
            message = citizen_writes(case)
        sweep(now=(timezone.now() + timedelta(minutes=5)).isoformat())

        named = {people[i].pk for i in co} | {org.manager_a.pk} | ({people[0].pk} if assigned else set())
        holders = list(Delivery.objects.filter(message=message).select_related("mailbox"))
        assert holders, "the message reached nobody"
        assert all(d.mailbox.kind == Mailbox.Kind.PERSONAL for d in holders), "a group mailbox holds it"
        owners = {d.mailbox.owner_id for d in holders}
        assert owners <= named, f"unnamed people hold it: {owners - named}"
        # Readable: each holder opens it; a member of unit A who is not named does not.
        for d in holders[:2]:
            login(client, d.mailbox.owner)
            url = reverse("mailboxes:thread", args=[d.mailbox_id, case.thread_id])
            assert client.get(url).status_code == 200
        outsider = people[2] if 2 not in co else people[1] if 1 not in co else None
        if outsider is not None:
            login(client, outsider)
            url = reverse("mailboxes:thread", args=[org.unit_a.group_mailbox.pk, case.thread_id])
            assert client.get(url).status_code == 404
        transaction.set_rollback(True)
