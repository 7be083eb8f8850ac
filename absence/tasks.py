import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from mailboxes.models import Message

from . import routing

logger = logging.getLogger(__name__)


@shared_task(
    name="absence.route_message",
    acks_late=True,
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=2,
    retry_backoff_max=60,
    time_limit=60,
    soft_time_limit=50,
)
def route_message_task(*, message_id: int) -> int:
    return len(routing.route_message(message_id=message_id))


@shared_task(name="absence.sweep", time_limit=300, soft_time_limit=280)
def sweep() -> int:
    """Route every stored message that a lost task left without deliveries (guarantee 1)."""
    cutoff = timezone.now() - timedelta(seconds=settings.ROUTING_SWEEP_AGE_SECONDS)
    routed = 0
    ids = list(
        Message.objects.filter(routed_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:5000]
    )
    for message_id in ids:
        routing.route_message(message_id=message_id)
        routed += 1
    if routed:
        logger.info("sweep routed %s message(s)", routed)
    return routed
