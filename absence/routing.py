"""The one place that decides where a message goes.

`intended_mailboxes` says who messages are for; `plan_deliveries` turns one intended mailbox into the
deliveries to make, following absences with forwarding (loop detection, depth limit, ending in a
group mailbox); `route_messages` stores them for a batch of messages in a fixed number of queries.
Citizen routing, internal messages and every sweep go through `route_messages` (`route_message` is the
batch of one; the routing task routes its own message together with whatever else is waiting).

The rule (guarantee 8): a message is forwarded if the person it is for was away with forwarding
when it was written, or is away when it is routed — whichever moment routing comes at (a worker
down across an absence's start or end changes nothing). When both hold, the absence under way at
routing decides the target. Every step of a forwarding chain follows the same rule, and so does
the sweep's re-check (`stranded_unread`). Starting an absence and routing a message for the same
person never interleave: each waits for the other on that person's user row
(`absence.away.who_is_away`), so no message sits, even for a moment, only with someone away.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mailboxes import hooks as mailbox_hooks
from mailboxes.models import Delivery, Mailbox, Message
from mailboxes.services.deliveries import DeliveryPlan, deliveries_create_many

from . import hooks
from .away import AbsencesAt, who_is_away
from .protected import shield_protected

logger = logging.getLogger(__name__)


def intended_mailboxes(messages: Sequence[Message]) -> dict[int, list[Mailbox]]:
    """Who each message is addressed to, before any absence is considered ({message id: mailboxes}).
    One query for the citizen threads' cases, one for internal messages' recipients."""
    found: dict[int, list[Mailbox]] = {m.pk: [] for m in messages}
    # Automatic replies and internal notes live in the thread only; nobody's inbox. Staff writing to
    # the citizen: the citizen reads it in the portal.
    normal = [m for m in messages if m.kind == Message.Kind.NORMAL]
    from_citizens = [m for m in normal if m.thread.is_citizen and m.sender and m.sender.is_citizen]
    if from_citizens:
        # The case (eservices) says who: its handler, or its unit's group mailbox (mailboxes.hooks).
        recipients = mailbox_hooks.citizen_recipients({m.thread_id for m in from_citizens})
        for message in from_citizens:
            found[message.pk] = [recipients[message.thread_id]]
    internal = [m.pk for m in normal if not m.thread.is_citizen]
    if internal:
        through = Message.recipients.through
        for row in through.objects.filter(message_id__in=internal).select_related("mailbox").order_by("id"):
            found[row.message_id].append(row.mailbox)
    return found


def plan_deliveries(
    *,
    intended: Mailbox,
    when: datetime | None = None,
    absences: AbsencesAt | None = None,
    written_at: datetime | None = None,
) -> list[DeliveryPlan]:
    """The deliveries for one intended mailbox: the mailbox itself, then, while the current mailbox is
    the personal one of someone away with forwarding (at routing, or when the message was written:
    `written_at`), their forward target.

    A loop (A → B → A) or a chain deeper than FORWARDING_MAX_DEPTH ends in a group mailbox: that of
    the first absent person's unit, else of the next absent person's in the chain. The chain always
    ends in a mailbox whose owner is present or in a group mailbox, unless nobody in it has a unit
    (logged: a configuration error the sweep keeps reporting). `absences` shares one reading of who
    is away among many calls (a batch); without it one is made for `when`."""
    absences = absences or AbsencesAt(when or timezone.now())
    plans = [DeliveryPlan(mailbox_id=intended.pk, reason=Delivery.Reason.DIRECT)]
    visited = {intended.pk}
    absent_chain: list[int] = []
    current = intended
    while current.kind == Mailbox.Kind.PERSONAL:
        absence = absences.of(current.owner_id, written_at)
        if absence is None:
            break
        absent_chain.append(current.owner_id)
        target = absence.forward_to
        if target.pk in visited or len(absent_chain) > settings.FORWARDING_MAX_DEPTH:
            target = _fallback_group(absent_chain, visited, absences)
            if target is None:
                logger.error(
                    "forwarding chain from mailbox %s ends in an absent person's mailbox: nobody in it "
                    "belongs to a unit",
                    intended.pk,
                )
                break
        plans.append(
            DeliveryPlan(
                mailbox_id=target.pk,
                reason=Delivery.Reason.FORWARDED_ABSENCE,
                forwarded_for_id=current.owner_id,
                forwarded_from_mailbox_id=current.pk,
            )
        )
        visited.add(target.pk)
        current = target
    return plans


def _fallback_group(absent_chain: list[int], visited: set[int], absences: AbsencesAt) -> Mailbox | None:
    for user_id in absent_chain:
        group = absences.home_group(user_id)
        if group is not None and group.pk not in visited:
            return group
    return None


def plans_for(
    mailboxes: Iterable[Mailbox],
    when: datetime | None = None,
    absences: AbsencesAt | None = None,
    written_at: datetime | None = None,
) -> list[DeliveryPlan]:
    absences = absences or AbsencesAt(when or timezone.now(), since=written_at)
    plans: list[DeliveryPlan] = []
    for mailbox in mailboxes:
        plans.extend(plan_deliveries(intended=mailbox, absences=absences, written_at=written_at))
    return plans


def forward_unread_in_mailbox(*, mailbox: Mailbox, when: datetime | None = None) -> list[Delivery]:
    """Start of an absence: every unread message already in `mailbox` also goes where a new message
    to it would go now (one plan for all of them, one bulk insert). Already forwarded ones are
    skipped by the unique delivery, so running this twice forwards once."""
    when = when or timezone.now()
    chain = plan_deliveries(intended=mailbox, when=when)[1:]
    if not chain:
        return []
    message_ids = (
        Delivery.objects.filter(mailbox=mailbox, read_at__isnull=True)
        .exclude(reason=Delivery.Reason.SENT)
        .values_list("message_id", flat=True)
    )
    plans = shield_protected(dict.fromkeys(message_ids, chain), absences=AbsencesAt(when))
    return deliveries_create_many(plans_by_message=plans)


def _active_at(moment, prefix: str, since=None) -> Q:
    """Absence.is_active as a condition on the absences at `prefix` (with `since`: active at some
    moment from `since` to `moment`); `moment` may be an expression (F) of the query. Positive
    lookups only: a negated one across a to-many relation would become a subquery of its own."""
    since = moment if since is None else since
    return (
        Q(**{f"{prefix}starts_at__lte": moment})
        & (Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": since}))
        & (Q(**{f"{prefix}ended_at__isnull": True}) | Q(**{f"{prefix}ended_at__gt": since}))
    )


# How far back the sweep looks for absences that have ended, for mail written during them that
# reached only the returned handler: longer than any outage routing must ride out (routing itself
# follows the rule, whenever it comes), and short enough that the check reads only the unread mail
# of people away now or back lately.
WRITTEN_RECHECK = timedelta(days=7)

Stranded = list[tuple[int, int, datetime]]  # (personal mailbox id, message id, written at)


def _stranded(when: datetime) -> tuple[Stranded, AbsencesAt | None]:
    """Every stranded unread copy (see `stranded_unread`), and who is away for them.

    One query finds the candidates: unread copies in personal mailboxes whose owner is away for the
    message (an absence of theirs under way now or when it was written: a join on the owner's
    absences, so no check runs per unread copy). Only when there are any (normally none), two more
    read the other copies of those messages and the absences, and `AbsencesAt.of` — routing's own
    rule — decides whether another copy is with someone who can act on it."""
    prefix = "mailbox__owner__absences__"
    recent = _active_at(when, prefix, since=when - WRITTEN_RECHECK)  # at some moment since then
    candidates = list(
        Delivery.objects.filter(mailbox__kind=Mailbox.Kind.PERSONAL, read_at__isnull=True)
        .exclude(reason=Delivery.Reason.SENT)
        # One filter(): one join of the owner's absences, each row tested for both moments.
        .filter(recent & (_active_at(when, prefix) | _active_at(F("message__created_at"), prefix)))
        .order_by("mailbox_id", "message_id")
        .values_list("mailbox_id", "message_id", "message__created_at")
        .distinct()
    )
    if not candidates:
        return [], None
    written = [at for _mailbox, _message, at in candidates]
    absences = AbsencesAt(when, since=min(written), until=max(written))
    copies = (
        Delivery.objects.filter(message_id__in={message_id for _mailbox, message_id, _at in candidates})
        .exclude(reason=Delivery.Reason.SENT)
        .values_list("message_id", "mailbox__kind", "mailbox__owner_id", "message__created_at")
    )
    # The sender's own "sent" copy does not count: the sender expects someone else to act on it.
    actionable = {
        message_id
        for message_id, kind, owner_id, at in copies
        if kind == Mailbox.Kind.GROUP or (owner_id is not None and absences.of(owner_id, at) is None)
    }
    return [row for row in candidates if row[1] not in actionable], absences


def stranded_unread(when: datetime | None = None) -> dict[int, list[int]]:
    """Guarantee 2, checked: {personal mailbox id: [message ids]} for unread messages whose only
    copies are with people away for them — away now, or away when the message was written (guarantee
    8, the rule routing follows) — none in a group mailbox or with a colleague present at both
    moments; a sender's own sent copy does not count."""
    found: dict[int, list[int]] = {}
    for mailbox_id, message_id, _written in _stranded(when or timezone.now())[0]:
        found.setdefault(mailbox_id, []).append(message_id)
    return found


def forward_stranded_unread(*, when: datetime | None = None) -> int:
    """Forward every stranded unread message (see `stranded_unread`) along its mailbox's chain, as
    routing would have: by who is away now or was away when it was written."""
    rows, absences = _stranded(when or timezone.now())
    if not rows:
        return 0
    mailboxes = Mailbox.objects.in_bulk({mailbox_id for mailbox_id, _message, _written in rows})
    plans: dict[int, list[DeliveryPlan]] = {}
    for mailbox_id, message_id, written in rows:
        chain = plan_deliveries(intended=mailboxes[mailbox_id], absences=absences, written_at=written)[1:]
        plans.setdefault(message_id, []).extend(chain)
    plans = shield_protected(plans, absences=absences)
    created = deliveries_create_many(plans_by_message=plans)
    if created:
        logger.warning("sweep forwarded %s unread message(s) left only with absent handlers", len(created))
    return len(created)


def route_message(*, message_id: int) -> list[Delivery]:
    """Deliver one stored message (see `route_messages`); the deliveries this call made."""
    return route_messages(message_ids=[message_id]).get(message_id, [])


def route_messages(*, message_ids: Sequence[int], batch_mates: int = 0) -> dict[int, list[Delivery]]:
    """Deliver stored messages in one transaction and a fixed number of queries, however many.

    Idempotent: a routed message (routed_at set) is left alone, and the unique delivery constraint
    makes a concurrent second run create nothing. `message_ids` are locked waiting for a concurrent
    router to finish with them (so none is left unrouted if it rolls back). With `batch_mates`, up to
    that many other messages stored within ROUTING_SWEEP_AGE_SECONDS that still wait for routing are
    taken along, skipping any another router holds: under a burst one task routes what has piled up,
    and the tasks of those messages then find them routed. Older unrouted messages are left to the
    sweep, so a message that cannot be routed holds back nobody else's for long.

    Returns {message id: deliveries made} for the messages routed by this call."""
    with transaction.atomic():
        own = list(
            Message.objects.select_for_update(of=("self",))
            .filter(pk__in=list(message_ids), routed_at__isnull=True)
            .order_by("pk")  # locks taken in id order
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        mates: list[int] = []
        if batch_mates > 0:
            mates = list(
                Message.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(
                    routed_at__isnull=True,
                    created_at__gte=now - timedelta(seconds=settings.ROUTING_SWEEP_AGE_SECONDS),
                )
                .exclude(pk__in=own)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:batch_mates]
            )
        ids = own + mates
        if not ids:
            return {}
        messages = list(Message.objects.filter(pk__in=ids).select_related("thread", "sender").order_by("pk"))
        intended = intended_mailboxes(messages)
        absences = who_is_away(intended, written_since=min(m.created_at for m in messages))
        plans = {
            m.pk: plans_for(intended[m.pk], absences=absences, written_at=m.created_at) for m in messages
        }
        plans = shield_protected(plans, absences=absences, written_at={m.pk: m.created_at for m in messages})
        created = deliveries_create_many(plans_by_message=plans)
        Message.objects.filter(pk__in=ids).update(routed_at=now)
        by_message: dict[int, list[Delivery]] = {m.pk: [] for m in messages}
        for delivery in created:
            by_message[delivery.message_id].append(delivery)
        routed = [(m, by_message[m.pk]) for m in messages]
        for hook in _after_routing_hooks():
            hook(routed=routed)
    return by_message


def _after_routing_hooks():
    # Out-of-office replies and webhooks hang here (absence.autoreply, integrations): each is called
    # once per batch, `hook(routed=[(message, its new deliveries), ...])`, in the routing transaction,
    # in a fixed number of queries, and must only enqueue side effects on commit.
    return hooks.AFTER_ROUTING


# --- waking the router --------------------------------------------------------------------------
# A stored message asks for a routing task on commit. Under a burst one queued task stands for all:
# a message that finds a wake-up already pending (a task queued and not yet started) enqueues
# nothing, because that task, once started, clears the wake-up and then routes every message
# stored before (route_messages' batch mates). Every interleaving of "commit, look at the wake-up"
# with "clear it, look for waiting messages" leaves no message behind; a lost task or an unreachable
# cache costs at most ROUTING_COALESCE_SECONDS (the wake-up expires) or the sweep's minute.
# The task starts ROUTING_COALESCE_DELAY seconds after it is queued, so that under steady traffic too
# it routes the messages of that moment together. Coalescing needs a cache every process shares
# (Redis); ROUTING_COALESCE_SECONDS = 0 turns it off (the embedded default: one task per message).

ROUTING_WAKEUP_KEY = "absence:routing-wakeup"


def wakeup_claim() -> bool:
    """True if this message must enqueue a routing task itself."""
    if not settings.ROUTING_COALESCE_SECONDS:
        return True
    try:
        return cache.add(ROUTING_WAKEUP_KEY, 1, timeout=settings.ROUTING_COALESCE_SECONDS)
    except Exception:  # cache unreachable: enqueue, as without coalescing
        return True


def routing_wakeup_clear() -> None:
    """Called by the routing task before it looks for waiting messages (and when an enqueue fails)."""
    if not settings.ROUTING_COALESCE_SECONDS:
        return
    try:
        cache.delete(ROUTING_WAKEUP_KEY)
    except Exception:  # cache unreachable: the wake-up expires by itself
        logger.warning("could not clear the routing wake-up; it expires by itself")
