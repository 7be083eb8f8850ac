import logging

from celery import shared_task
from django.conf import settings

from . import casefile, webhooks

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


@shared_task(
    name="integrations.deliver_case_file",
    bind=True,
    acks_late=True,
    # Attempts are counted on the row (WEBHOOK_MAX_ATTEMPTS); this only bounds Celery's own loop.
    max_retries=50,
    # The PDF can be a few megabytes: more time to send than a webhook's ids.
    time_limit=180,
    soft_time_limit=160,
)
def deliver_case_file(self, *, entry_id: str) -> str:
    wait = casefile.case_file_attempt(entry_id=entry_id)
    if wait is None:
        return "done"
    raise self.retry(countdown=wait)


@shared_task(name="integrations.webhook_sweep", time_limit=300, soft_time_limit=280)
def webhook_sweep() -> int:
    """Re-enqueue deliveries and case-file entries whose task was lost; each attempt claims its row,
    so one whose task does still run is not sent twice."""
    grace = settings.WEBHOOK_SWEEP_GRACE_SECONDS
    due = [(deliver_webhook, {"delivery_id": i}) for i in webhooks.webhook_due_ids(grace_seconds=grace)]
    due += [(deliver_case_file, {"entry_id": i}) for i in casefile.case_file_due_ids(grace_seconds=grace)]
    for task, kwargs in due:
        try:
            task.delay(**kwargs)
        except Exception:
            logger.warning("webhook sweep could not enqueue %s", kwargs)
            break
    return len(due)
