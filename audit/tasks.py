from celery import shared_task

from .retention import access_log_prune


@shared_task(
    name="audit.retention",
    acks_late=True,
    max_retries=3,
    default_retry_delay=600,
    time_limit=3600,
    soft_time_limit=3300,
)
def retention() -> dict:
    """Nightly (CELERY_BEAT_SCHEDULE["retention"]). Idempotent: a second run finds nothing past its
    period and removes nothing."""
    result = access_log_prune()
    return {
        "access_log_deleted": result.deleted,
        "access_log_through_seq": result.through_seq,
        "access_log_refused": result.refused,
    }
