"""Retention's Celery tasks: beat proposes a run nightly (it never removes on its own), a run
approved in the administration pages is carried out by `retention.run`, and `retention.resume`
starts again a run whose worker died. Arguments are ids; every task may run twice."""

from __future__ import annotations

import datetime as dt
import logging
import time
from urllib.parse import urljoin

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from .execution import run_until_done
from .models import RetentionRun
from .services import RunRefused, approvers, run_propose

logger = logging.getLogger(__name__)

# A run hands over to a fresh task after this long, so no task nears its time limit.
RUN_SLICE_SECONDS = 600
# A run approved or under way with no batch committed for this long has lost its worker.
STALLED_AFTER = dt.timedelta(minutes=15)


@shared_task(name="retention.propose", acks_late=True, time_limit=1800, soft_time_limit=1700)
def propose() -> int | None:
    """Nightly (CELERY_BEAT_SCHEDULE["retention-propose"]): the review list of what the rules in
    effect would remove, for an approver; none while one waits or runs. Returns the run's id."""
    try:
        run = run_propose(replace=False)
    except RunRefused:
        return None
    return run.pk if run else None


@shared_task(
    name="retention.run",
    acks_late=True,
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=30,
    retry_backoff_max=600,
    time_limit=RUN_SLICE_SECONDS + 300,
    soft_time_limit=RUN_SLICE_SECONDS + 240,
)
def run_task(*, run_id: int) -> str:
    """Carry out an approved run batch by batch (retention_rules.execution); after RUN_SLICE_SECONDS it
    queues itself again and returns. Idempotent: a run that has ended is left alone."""
    if run_until_done(run_id=run_id, deadline=time.monotonic() + RUN_SLICE_SECONDS):
        return "ended"
    run_task.delay(run_id=run_id)
    return "continued"


@shared_task(name="retention.resume", acks_late=True, time_limit=60)
def resume() -> list[int]:
    """Every few minutes: queue again a run approved or under way whose last batch is older than
    STALLED_AFTER (its task was lost with a worker or the broker)."""
    stalled = timezone.now() - STALLED_AFTER
    runs = list(
        RetentionRun.objects.filter(
            state__in=[RetentionRun.State.APPROVED, RetentionRun.State.RUNNING],
            approved_at__lt=stalled,
        )
        .exclude(progress_at__gte=stalled)
        .values_list("pk", flat=True)
    )
    for run_id in runs:
        logger.warning("retention run #%s has stalled; starting it again", run_id)
        run_task.delay(run_id=run_id)
    return runs


@shared_task(name="retention.notify_approvers", acks_late=True, max_retries=3, default_retry_delay=300)
def notify_approvers(*, run_id: int) -> int:
    """Tell the people who may approve it that a review list waits (no counts, no content)."""
    run = RetentionRun.objects.filter(pk=run_id, state=RetentionRun.State.PROPOSED).first()
    if run is None:
        return 0
    recipients = approvers(exclude=run.proposed_by)
    if not recipients:
        logger.warning("retention run #%s waits for approval and nobody can approve it", run_id)
        return 0
    base = getattr(settings, "STAFF_BASE_URL", "") or urljoin(settings.CITIZEN_PORTAL_URL, "/")
    link = base.rstrip("/") + reverse("administration:retention_run", args=[run.pk])
    with override(settings.LANGUAGE_CODE):
        subject = _("A retention run waits for your approval")
        body = _(
            "A list of records due for removal under the retention rules waits for review and approval. "
            "Nothing is removed until someone approves it.\n\n%(link)s"
        ) % {"link": link}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [u.email for u in recipients])
    return len(recipients)
