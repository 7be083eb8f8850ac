import logging

from celery import shared_task

from .models import AccessLogHead
from .retention import access_log_check_chain, uploads_prune

logger = logging.getLogger(__name__)


@shared_task(
    name="audit.retention",
    acks_late=True,
    max_retries=3,
    default_retry_delay=600,
    time_limit=3600,
    soft_time_limit=3300,
)
def retention() -> dict:
    """Nightly (CELERY_BEAT_SCHEDULE["retention"]): verify the access log's chain and export its head,
    then remove uploads never sent (not records: a form given up). Records — messages, attachments,
    access-log entries — go only in a retention run that someone approved (the retention_rules app; beat
    task retention.propose makes the list). Idempotent."""
    chain = access_log_check_chain()
    head = AccessLogHead.objects.filter(id=1).values_list("seq", "last_hash").first() or (0, "")
    # The head's hash in the task result (kept by the result backend, outside this table) lets a
    # rewrite of the whole chain be noticed later.
    logger.info("Access-log head #%s %s", head[0], head[1])
    uploads = uploads_prune()
    return {
        "access_log_chain_ok": chain.ok,
        "access_log_head": f"{head[0]}:{head[1]}",
        "uploads_cutoff": uploads.cutoff.isoformat(),
        "uploads": uploads.uploads,
    }
