import logging

from celery import shared_task
from django.conf import settings

from . import casefile, webhooks

# The delivering tasks live next to what they run (a module that enqueues a task defines it, so it
# needs no import of this one); named here too, for Celery's autodiscovery and for callers.
deliver_case_file = casefile.deliver_case_file
deliver_webhook = webhooks.deliver_webhook

logger = logging.getLogger(__name__)


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
