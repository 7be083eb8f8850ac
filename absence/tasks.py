"""Celery tasks for routing and absences. Arguments are ids and ISO timestamps; every task can run
twice (or after a lost run) without doing the work twice. `now` exists so tests can drive the clock;
beat calls them without arguments."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mailboxes.models import Message
from monitoring.services import sweep_run_record

from . import escalation, routing, services, unregistered

logger = logging.getLogger(__name__)


def _now(now: str | None) -> datetime:
    if not now:
        return timezone.now()
    parsed = parse_datetime(now)
    if parsed is None:
        raise ValueError(f"not an ISO datetime: {now!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@shared_task(
    name="absence.route_message",
    acks_late=True,
    # One task per stored message: a result row each would be written for nobody to read.
    ignore_result=True,
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=2,
    retry_backoff_max=60,
    time_limit=60,
    soft_time_limit=50,
)
def route_message_task(*, message_id: int) -> int:
    """Route a stored message, and with it every message stored meanwhile that still waits (in
    transactions of ROUTING_BATCH_SIZE): under a burst one task stands for many messages (see
    message_route_on_commit). Returns the number of deliveries made."""
    routing.routing_wakeup_clear()
    size = settings.ROUTING_BATCH_SIZE
    routed = routing.route_messages(message_ids=[message_id], batch_mates=size - 1)
    made = sum(len(deliveries) for deliveries in routed.values())
    while len(routed) >= size:  # a full batch: more may be waiting
        routed = routing.route_messages(message_ids=[], batch_mates=size)
        made += sum(len(deliveries) for deliveries in routed.values())
    return made


def message_route_on_commit(message: Message) -> None:
    """Ask for routing after the storing transaction commits (absence.routing, "waking the router").
    If the broker is down the message stays stored and unrouted, and the sweep routes it."""

    def _send() -> None:
        if not routing.wakeup_claim():
            return  # a queued routing task takes this message along
        try:
            # When coalescing, the task waits a moment before it starts: the messages stored
            # meanwhile are routed with this one, in one transaction.
            delay = settings.ROUTING_COALESCE_DELAY if settings.ROUTING_COALESCE_SECONDS else 0
            route_message_task.apply_async(kwargs={"message_id": message.pk}, countdown=delay or None)
        except Exception:  # broker unreachable: the sweep delivers it (guarantee 1)
            routing.routing_wakeup_clear()
            logger.warning("could not enqueue routing for message %s; the sweep will route it", message.pk)

    transaction.on_commit(_send)


@shared_task(name="absence.sweep", acks_late=True, time_limit=300, soft_time_limit=280)
def sweep(now: str | None = None, age_seconds: int | None = None) -> dict[str, int]:
    """Guarantee 1: route every stored message a lost task left unrouted (older than
    ROUTING_SWEEP_AGE_SECONDS, so the normal path has had its chance). Guarantee 2: forward any
    unread message that sits only with people who are away."""
    moment = _now(now)
    # age_seconds=0: every waiting message, however new (absence.worker_steps, after a broker loss).
    age = settings.ROUTING_SWEEP_AGE_SECONDS if age_seconds is None else age_seconds
    cutoff = moment - timedelta(seconds=age)
    ids = list(
        Message.objects.filter(routed_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:5000]
    )
    routed = failed = 0
    for start in range(0, len(ids), settings.ROUTING_BATCH_SIZE):
        batch = ids[start : start + settings.ROUTING_BATCH_SIZE]
        try:
            routed += len(routing.route_messages(message_ids=batch))
            continue
        except Exception:
            logger.warning("sweep could not route a batch of %s; routing them one by one", len(batch))
        for message_id in batch:
            try:
                routed += len(routing.route_messages(message_ids=[message_id]))
            except Exception:
                # One broken message must not hold back the rest; it stays unrouted and is retried.
                failed += 1
                logger.exception("sweep could not route message %s", message_id)
    forwarded = routing.forward_stranded_unread(when=moment)
    if routed or failed or forwarded:
        logger.info("sweep: routed %s, failed %s, forwarded %s stranded", routed, failed, forwarded)
    # For /healthz/worker (a sweep ran lately) and /metrics (runs and repairs).
    sweep_run_record(routed=routed, failed=failed, forwarded=forwarded)
    return {"routed": routed, "failed": failed, "forwarded": forwarded}


@shared_task(name="absence.tick", acks_late=True, time_limit=300, soft_time_limit=280)
def tick(now: str | None = None) -> dict[str, int]:
    """Planned absences start by themselves (forwarding what is unread) and end by themselves."""
    return services.absences_tick(now=_now(now))


@shared_task(name="absence.escalate_group_unread", acks_late=True, time_limit=300, soft_time_limit=280)
def escalate_group_unread(now: str | None = None) -> int:
    """E-mail unit managers about messages unread too long in their group mailbox (once each)."""
    return escalation.group_unread_escalate(now=_now(now))


@shared_task(name="absence.alert_unregistered_absence", acks_late=True, time_limit=300, soft_time_limit=280)
def alert_unregistered_absence(now: str | None = None) -> int:
    """Tell unit managers about citizen mail unread in the personal mailbox of someone who has not
    logged in for more than UNREGISTERED_ABSENCE_WORKING_DAYS working days (once per message)."""
    return unregistered.unregistered_absence_alert(now=_now(now))
