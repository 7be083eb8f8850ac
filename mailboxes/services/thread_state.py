"""Work on a thread in a mailbox: take, release, handled, reopen, forward by hand.

Each change applies to the mailbox's deliveries of the thread and its summary, and is mirrored onto
the copies they were forwarded from (Delivery.forwarded_from, followed back to the first copy), so an
absent handler's own copy shows who took and handled it. Lock order as everywhere: delivery rows (by
id), then summary rows (by id).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_event_record

from .. import hooks
from ..models import Delivery, Mailbox, MailboxThread, Message, Thread
from .deliveries import DeliveryPlan, deliveries_create


def _origin_delivery_ids(*, mailbox: Mailbox, thread: Thread) -> list[int]:
    frontier = set(
        Delivery.objects.filter(mailbox=mailbox, thread=thread, forwarded_from__isnull=False).values_list(
            "forwarded_from_id", flat=True
        )
    )
    seen: set[int] = set()
    # A chain is at most FORWARDING_MAX_DEPTH forwards long (plus a manual forward on top).
    for _ in range(settings.FORWARDING_MAX_DEPTH + 2):
        frontier -= seen
        if not frontier:
            break
        seen |= frontier
        frontier = set(
            Delivery.objects.filter(pk__in=frontier, forwarded_from__isnull=False).values_list(
                "forwarded_from_id", flat=True
            )
        )
    return sorted(seen)


def _thread_state_apply(
    *,
    mailbox: Mailbox,
    thread: Thread,
    delivery_filter: Q,
    delivery_updates: dict,
    summary_filter: Q,
    summary_updates: dict,
) -> int:
    origin_ids = _origin_delivery_ids(mailbox=mailbox, thread=thread)
    scope = Q(mailbox=mailbox, thread=thread) | Q(pk__in=origin_ids)
    rows = list(
        Delivery.objects.select_for_update().filter(scope).order_by("id").values_list("id", "mailbox_id")
    )
    changed = (
        Delivery.objects.filter(pk__in=[r[0] for r in rows])
        .filter(delivery_filter)
        .update(**delivery_updates)
    )
    mailbox_ids = sorted({mailbox.pk, *(r[1] for r in rows)})
    list(
        MailboxThread.objects.select_for_update()
        .filter(thread=thread, mailbox_id__in=mailbox_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
    MailboxThread.objects.filter(thread=thread, mailbox_id__in=mailbox_ids).filter(summary_filter).update(
        **summary_updates
    )
    return changed


@transaction.atomic
def thread_take(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """ "I'm handling this": shown to every member and on the original recipient's copy."""
    now = timezone.now()
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(),
        delivery_updates={"taken_by": user, "taken_at": now},
        summary_filter=Q(),
        summary_updates={"taken_by": user, "taken_at": now},
    )


@transaction.atomic
def thread_release(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """Give back a thread one has taken (only one's own take is undone)."""
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(taken_by=user),
        delivery_updates={"taken_by": None, "taken_at": None},
        summary_filter=Q(taken_by=user),
        summary_updates={"taken_by": None, "taken_at": None},
    )


@transaction.atomic
def thread_mark_handled(*, mailbox: Mailbox, thread: Thread, user) -> None:
    now = timezone.now()
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(handled_at__isnull=True),
        delivery_updates={"handled_by": user, "handled_at": now},
        summary_filter=Q(),
        summary_updates={"handled_by": user, "handled_at": now},
    )
    for hook in hooks.AFTER_HANDLED:
        hook(mailbox=mailbox, thread=thread, user=user)


@transaction.atomic
def thread_reopen(*, mailbox: Mailbox, thread: Thread, user) -> None:
    """Undo "handled" (marked by mistake, or more is needed)."""
    _thread_state_apply(
        mailbox=mailbox,
        thread=thread,
        delivery_filter=Q(handled_at__isnull=False),
        delivery_updates={"handled_by": None, "handled_at": None},
        summary_filter=Q(),
        summary_updates={"handled_by": None, "handled_at": None},
    )


@transaction.atomic
def thread_forward(
    *, mailbox: Mailbox, thread: Thread, target: Mailbox, user, note: str = ""
) -> Delivery | None:
    """Forward a thread by hand from `mailbox` to `target` (a group mailbox): the latest message the
    mailbox holds is placed there unread, marked as forwarded by `user` with the note. The target's
    members then open the whole thread through it. Returns None if the target already holds it."""
    source = (
        Delivery.objects.filter(mailbox=mailbox, thread=thread)
        .select_related("message__thread", "message__sender")
        .order_by(
            models.Case(models.When(message__kind=Message.Kind.NORMAL, then=0), default=1),
            "-message__created_at",
            "-message_id",
        )
        .first()
    )
    if source is None:
        return None
    created = deliveries_create(
        message=source.message,
        plans=[
            DeliveryPlan(
                mailbox_id=target.pk,
                reason=Delivery.Reason.FORWARDED_MANUAL,
                forwarded_from_mailbox_id=mailbox.pk,
                forwarded_by_id=user.pk,
                forward_note=note,
            )
        ],
    )
    if not created:
        return None
    audit_event_record(
        actor=user,
        action="thread.forward",
        target=thread,
        after={
            "from_mailbox": mailbox.pk,
            "to_mailbox": target.pk,
            "message": source.message_id,
            "reason": note,
        },
    )
    return created[0]
