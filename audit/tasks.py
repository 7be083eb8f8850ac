import logging

from celery import shared_task

from .models import AccessLogHead
from .retention import access_log_check_chain, access_log_prune, messages_prune, uploads_prune

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
    """Nightly (CELERY_BEAT_SCHEDULE["retention"]): remove access-log entries past their period and
    verify the rest of the chain, then uploads never sent (before messages: a long first run of
    message retention must not keep them), then messages past their period. Idempotent: a second run
    finds nothing past its period and removes nothing. A run cut short (time limit) has committed whole
    batches, each recorded; the next night goes on from there."""
    result = access_log_prune()
    chain = access_log_check_chain()
    head = AccessLogHead.objects.filter(id=1).values_list("seq", "last_hash").first() or (0, "")
    # The head's hash in the task result (kept by the result backend, outside this table) lets a
    # rewrite of the whole chain be noticed later.
    logger.info("Access-log head #%s %s", head[0], head[1])
    uploads = uploads_prune()
    messages = messages_prune()
    return {
        "access_log_deleted": result.deleted,
        "access_log_through_seq": result.through_seq,
        "access_log_refused": result.refused,
        "access_log_chain_ok": chain.ok,
        "access_log_head": f"{head[0]}:{head[1]}",
        "uploads_cutoff": uploads.cutoff.isoformat(),
        "uploads": uploads.uploads,
        "messages_cutoff": messages.cutoff.isoformat(),
        "messages": messages.counts.as_dict(),
    }
