"""The permission matrix's time dimension (guarantee 9): every read URL of a citizen thread × every
kind of user, before and after the need ends — a sick call that ends, a case that moves.

Each scenario is applied to the matrix's `World` (tests/test_permission_matrix.py) in a savepoint
and ends with the citizen writing a new message, with an attachment, whose text is NEWEST. A TimeRow
names the URL and, per stage, the outcome per user: a status code, LOGIN, or SEES / CUT — 200 with
the newest message (or, for search, the thread as a hit) shown, or 200 without it.

Stage "before": the newest message is written while the need lasts (during the sick call, before
the case moves). Stage "after": written once it has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import reverse

from tests.conftest import login
from tests.test_permission_matrix import (
    LOGIN,
    MAILBOX_USERS,
    WHO,
    World,
    _citizen_writes,
    _mismatch,
    _png,
    staff_only,
    world,  # noqa: F401  (the module-scoped organisation)
)

NEWEST = "NYASTE-meddelandet-flyttbidrag"
SEES = "sees"
CUT = "cut"


@dataclass
class Stage:
    """What a scenario left behind for the rows: the newest message and its attachment."""

    message: object
    attachment: object


def _sick_call(w: World, stage: str) -> Stage:
    """handler_a1 on sick leave, forwarded to unit A's group mailbox; "after": the sick call ended."""
    from absence.models import Absence
    from absence.services import absence_create, absence_end

    o = w.org
    absence = absence_create(
        handler=o.handler_a1,
        actor=o.admin,
        kind=Absence.Kind.UNPLANNED,
        starts_at=None,
        ends_at=None,
        forward_to=w.group_mailbox,
    )
    if stage == "after":
        absence_end(absence=absence, actor=o.admin)
    return _newest(w)


def _case_moves(w: World, stage: str) -> Stage:
    """The unit manager moves the case from handler_a1 to handler_a2 ("after")."""
    from eservices.services import case_assign

    if stage == "after":
        case_assign(case=w.case, handler=w.org.handler_a2, co_handlers=[], actor=w.org.manager_a)
    return _newest(w)


def _newest(w: World) -> Stage:
    attachment = _png("nyast.png", w.case.citizen.user)
    return Stage(message=_citizen_writes(w.case, NEWEST, attachment), attachment=attachment)


SCENARIOS: dict[str, Callable[[World, str], Stage]] = {"sick_call": _sick_call, "case_moves": _case_moves}


@dataclass(frozen=True)
class TimeRow:
    scenario: str
    name: str
    args: Callable[[World, Stage], tuple]
    before: dict
    after: dict
    data: dict | None = None
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.scenario} {self.name}{' ' + self.label if self.label else ''}"


def _mailbox_user_table(before_mailbox_users: dict, **others) -> dict:
    """staff_only for a mailbox read: anonymous to the login page, citizens and roles without
    mailboxes 403; the mailbox users as given."""
    return staff_only(MAILBOX_USERS, **before_mailbox_users, **others)


def _group_thread(w: World, s: Stage) -> tuple:
    return (w.group_mailbox.pk, w.case.thread_id)


def _own_thread(w: World, s: Stage) -> tuple:
    return (w.handler_mailbox.pk, w.case.thread_id)


ROWS = [
    # A sick call forwards to the group: its members read along only while it lasts.
    TimeRow(
        "sick_call",
        "mailboxes:thread",
        _group_thread,
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": SEES, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": SEES, "enhetschef": CUT, "other_unit": 404}),
        label="via the group mailbox",
    ),
    TimeRow(
        "sick_call",
        "mailboxes:thread",
        _own_thread,
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": SEES, "enhetschef": 404, "other_unit": 404}),
        label="via the handler's own mailbox",
    ),
    TimeRow(
        "sick_call",
        "mailboxes:attachment",
        lambda w, s: (w.group_mailbox.pk, s.attachment.pk),
        before=_mailbox_user_table({"handlaggare": 200, "enhetschef": 200, "other_unit": 404}),
        # The handler is back: through any mailbox of theirs they read the whole thread.
        after=_mailbox_user_table({"handlaggare": 200, "enhetschef": 404, "other_unit": 404}),
        label="via the group mailbox",
    ),
    TimeRow(
        "sick_call",
        "mailboxes:search",
        lambda w, s: (),
        data={"q": "NYASTE-meddelandet-flyttbidrag"},
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": SEES, "other_unit": CUT}),
        after=_mailbox_user_table({"handlaggare": SEES, "enhetschef": CUT, "other_unit": CUT}),
    ),
    TimeRow(
        "sick_call",
        "integrations:export_thread",
        lambda w, s: (w.case.thread_id,),
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": SEES, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": SEES, "enhetschef": CUT, "other_unit": 404}),
    ),
    # A case that moves: the former handler keeps the thread as it was, not what comes after.
    TimeRow(
        "case_moves",
        "mailboxes:thread",
        _own_thread,
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": CUT, "enhetschef": 404, "other_unit": 404}),
        label="via the former handler's own mailbox",
    ),
    TimeRow(
        "case_moves",
        "mailboxes:attachment",
        lambda w, s: (w.handler_mailbox.pk, s.attachment.pk),
        before=_mailbox_user_table({"handlaggare": 200, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": 404, "enhetschef": 404, "other_unit": 404}),
        label="via the former handler's own mailbox",
    ),
    TimeRow(
        "case_moves",
        "mailboxes:case_thread",
        lambda w, s: (w.case.pk,),
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": 404, "enhetschef": 404, "other_unit": 404}),
    ),
    TimeRow(
        "case_moves",
        "mailboxes:case_attachment",
        lambda w, s: (w.case.pk, s.attachment.pk),
        before=_mailbox_user_table({"handlaggare": 200, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": 404, "enhetschef": 404, "other_unit": 404}),
    ),
    TimeRow(
        "case_moves",
        "mailboxes:search",
        lambda w, s: (),
        data={"q": "NYASTE-meddelandet-flyttbidrag"},
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": CUT, "other_unit": CUT}),
        after=_mailbox_user_table({"handlaggare": CUT, "enhetschef": CUT, "other_unit": CUT}),
    ),
    TimeRow(
        "case_moves",
        "integrations:export_thread",
        lambda w, s: (w.case.thread_id,),
        before=_mailbox_user_table({"handlaggare": SEES, "enhetschef": 404, "other_unit": 404}),
        after=_mailbox_user_table({"handlaggare": CUT, "enhetschef": 404, "other_unit": 404}),
    ),
]


def _seen(response, row: TimeRow, w: World, stage: Stage) -> bool:
    content = response.content.decode()
    if row.name == "mailboxes:search":
        return f"/trad/{w.case.thread_id}/" in content
    if row.name == "integrations:export_thread":  # lists the messages to choose, not their text
        return f'name="messages" value="{stage.message.pk}"' in content
    return NEWEST in content


def _problem(response, expected, row: TimeRow, w: World, stage: Stage) -> str | None:
    if expected not in (SEES, CUT):
        return _mismatch(response, expected)
    if response.status_code != 200:
        return f"expected 200 ({expected}), got {response.status_code}"
    seen = _seen(response, row, w, stage)
    if seen != (expected == SEES):
        return "the newest message is shown" if seen else "the newest message is missing"
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["before", "after"])
@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_permission_matrix_over_time(client, world: World, row: TimeRow, moment: str):  # noqa: F811
    problems = []
    with transaction.atomic():
        stage = SCENARIOS[row.scenario](world, moment)
        url = reverse(row.name, args=row.args(world, stage))
        expect = row.before if moment == "before" else row.after
        for who in WHO:
            with transaction.atomic():
                client.logout()
                user = world.user(who)
                if user is not None:
                    login(client, user)
                response = client.get(url, row.data or {})
                problem = _problem(response, expect[who], row, world, stage)
                if problem:
                    problems.append(f"{who}: {problem}")
                transaction.set_rollback(True)
        transaction.set_rollback(True)
    assert not problems, f"{row.id} {moment} ({url}):\n  " + "\n  ".join(problems)


def test_every_time_row_states_an_outcome_for_every_kind_of_user():
    for row in ROWS:
        assert set(row.before) == set(WHO) == set(row.after), row.id
    assert LOGIN in ROWS[0].before.values()
