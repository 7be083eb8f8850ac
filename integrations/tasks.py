import logging

from celery import shared_task
from django.conf import settings

from . import webhooks

logger = logging.getLogger(__name__)


@shared_task(
    name="integrations.deliver_webhook",
    bind=True,
    acks_late=True,
    # Attempts are counted on the row (WEBHOOK_MAX_ATTEMPTS); this only bounds Celery's own loop.
    max_retries=50,
    time_limit=120,
    soft_time_limit=100,
)
def deliver_webhook(self, *, delivery_id: str) -> str:
    wait = webhooks.webhook_attempt(delivery_id=delivery_id)
    if wait is None:
        return "done"
    raise self.retry(countdown=wait)


@shared_task(name="integrations.webhook_sweep", time_limit=300, soft_time_limit=280)
def webhook_sweep() -> int:
    """Re-enqueue deliveries whose task was lost; each attempt claims its row, so a delivery whose
    task does still run is not sent twice."""
    ids = webhooks.webhook_due_ids(grace_seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    for delivery_id in ids:
        try:
            deliver_webhook.delay(delivery_id=delivery_id)
        except Exception:
            logger.warning("webhook sweep could not enqueue %s", delivery_id)
            break
    return len(ids)
