"""Beat tasks of the replies app. Arguments are ISO timestamps (tests drive the clock); each can
run twice without doing the work twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import notice, services


def _now(now: str | None):
    if not now:
        return timezone.now()
    parsed = parse_datetime(now)
    if parsed is None:
        raise ValueError(f"not an ISO datetime: {now!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@shared_task(name="replies.waiting_mail_notices", acks_late=True, time_limit=300, soft_time_limit=280)
def waiting_mail_notices(now: str | None = None) -> int:
    """The opt-in daily e-mail of citizen mail waiting unread (once per person and day)."""
    return notice.waiting_mail_notices_send(now=_now(now))


@shared_task(name="replies.drafts_expire", acks_late=True, time_limit=300, soft_time_limit=280)
def drafts_expire(now: str | None = None) -> int:
    """Drafts left unsent for DRAFT_RETENTION_DAYS are removed."""
    return services.drafts_expire(older_than=timedelta(days=settings.DRAFT_RETENTION_DAYS), now=_now(now))
