"""Protected identity in routing (guarantee 9): a message in the thread of a citizen with a protected
identity never reaches a group mailbox, nor anyone the case does not name.

Routing plans deliveries as for anyone (absence.routing); this step then replaces every mailbox in
the plan of such a message that is not a named person's own (a group mailbox, a deputy who is
neither handler, co-handler nor unit manager) with named people: the case's co-handlers who are not away
for it, else the managers of the case's unit who are not away, else all of those named anyway (so
the message is always with at least one named person, even if all of them are away). The sweep's
guarantee follows: a copy in a named person's mailbox is the forward target, and a re-forward by the
sweep passes through the same step, so it never falls back to a group mailbox either.
A few queries per batch that holds such messages (their cases with the named people, the planned
mailboxes' owners, the unit managers, their mailboxes), one otherwise to find none.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from django.contrib.auth import get_user_model

from mailboxes import hooks as mailbox_hooks
from mailboxes.models import Mailbox, UnitMembership
from mailboxes.services.deliveries import DeliveryPlan

from .away import AbsencesAt

logger = logging.getLogger(__name__)
User = get_user_model()

MANAGER_PERMISSION = "view_unit_overview"  # accounts: the unit manager's role


def named_people(case, *, managers: list[int], absences: AbsencesAt, written_at=None) -> list[int]:
    """Who a protected citizen's message goes to instead of a group mailbox: present co-handlers,
    else present unit managers, else every co-handler and manager (named, even if away)."""
    co_handlers = sorted(u.pk for u in case.co_handlers.all() if u.pk != case.handler_id)
    for candidates in (co_handlers, managers):
        present = [uid for uid in candidates if absences.of(uid, written_at) is None]
        if present:
            return present
    return co_handlers + managers


def _named_ids(case, managers: list[int]) -> set[int]:
    named = {u.pk for u in case.co_handlers.all()} | set(managers)
    return named | ({case.handler_id} if case.handler_id else set())


def _protected_cases(message_ids) -> dict[int, object]:
    # The cases are eservices' (mailboxes.hooks.protected_cases, given by eservices).
    return mailbox_hooks.protected_cases(message_ids)


def _managers_by_unit(unit_ids: set[int]) -> dict[int, list[int]]:
    rows = (
        UnitMembership.objects.filter(
            unit_id__in=unit_ids,
            user__is_active=True,
            user__kind=User.Kind.STAFF,
            user__groups__permissions__codename=MANAGER_PERMISSION,
        )
        .values_list("unit_id", "user_id")
        .distinct()
        .order_by("unit_id", "user_id")
    )
    found: dict[int, list[int]] = {}
    for unit_id, user_id in rows:
        found.setdefault(unit_id, []).append(user_id)
    return found


def shield_protected(
    plans_by_message: dict[int, list[DeliveryPlan]],
    *,
    absences: AbsencesAt,
    written_at: dict[int, object] | None = None,
) -> dict[int, list[DeliveryPlan]]:
    """The plans with every group mailbox and unnamed deputy replaced by named people's personal
    mailboxes for the messages of protected citizens (see the module docstring); other messages'
    plans unchanged."""
    if not plans_by_message:
        return plans_by_message
    cases = _protected_cases(plans_by_message)
    if not cases:
        return plans_by_message
    # Each planned mailbox's owner (None for a group mailbox): only named people's may hold it.
    planned = {p.mailbox_id for mid in cases for p in plans_by_message[mid]}
    owner_of = dict(Mailbox.objects.filter(pk__in=planned).values_list("pk", "owner_id"))
    managers = _managers_by_unit({case.unit_id for case in cases.values()})
    named = {
        message_id: named_people(
            case,
            managers=managers.get(case.unit_id, []),
            absences=absences,
            written_at=(written_at or {}).get(message_id),
        )
        for message_id, case in cases.items()
    }
    personal = dict(
        Mailbox.objects.filter(
            kind=Mailbox.Kind.PERSONAL, owner_id__in={uid for uids in named.values() for uid in uids}
        ).values_list("owner_id", "pk")
    )
    shielded = dict(plans_by_message)
    for message_id, case in cases.items():
        plans: list[DeliveryPlan] = []
        allowed = _named_ids(case, managers.get(case.unit_id, []))
        for plan in plans_by_message[message_id]:
            if owner_of.get(plan.mailbox_id) not in allowed:  # a group mailbox, or an unnamed deputy
                people = [uid for uid in named[message_id] if uid in personal]
                plans.extend(replace(plan, mailbox_id=personal[uid]) for uid in people)
            else:
                plans.append(plan)
        if not plans:
            # Nobody named at all (no handler, co-handler or manager): losing the message would be
            # worse (guarantee 1), so it stays where routing put it, and operators are told.
            logger.error(
                "protected case %s has nobody named to route to (%s): left where routing put it",
                case.pk,
                named[message_id],
            )
            plans = plans_by_message[message_id]
        seen: set[int] = set()
        shielded[message_id] = [p for p in plans if not (p.mailbox_id in seen or seen.add(p.mailbox_id))]
    return shielded
