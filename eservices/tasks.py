import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from mailboxes.models import Message, Thread

from .models import Citizen, NotificationLog
from .notifications import message_notify

logger = logging.getLogger(__name__)


@shared_task(
    name="eservices.notify_citizen",
    acks_late=True,
    autoretry_for=(Exception,),
    max_retries=8,
    retry_backoff=5,
    retry_backoff_max=600,
    time_limit=60,
    soft_time_limit=50,
)
def notify_citizen(*, message_id: int) -> list[str]:
    """Tell the citizen there is a new message (no content). Idempotent per (message, channel); a
    failing backend makes the task retry with backoff, and the sweep picks up what retries gave up."""
    return message_notify(message_id=message_id)


def _channel_has_address() -> Q:
    email = Q(thread__case__citizen__notify_channel__in=[Citizen.Channel.EMAIL, Citizen.Channel.BOTH]) & ~Q(
        thread__case__citizen__notify_email=""
    )
    sms = Q(thread__case__citizen__notify_channel__in=[Citizen.Channel.SMS, Citizen.Channel.BOTH]) & ~Q(
        thread__case__citizen__notify_phone=""
    )
    return email | sms


@shared_task(name="eservices.notify_sweep", time_limit=120, soft_time_limit=100)
def notify_sweep() -> int:
    """Enqueue notifications a lost task (broker down at send time) or exhausted retries left unsent:
    staff messages to citizens from the last CITIZEN_NOTIFY_SWEEP_HOURS with no notification row yet,
    or with an unsent row whose last attempt is older than the task's retry window."""
    now = timezone.now()
    window_start = now - timedelta(hours=settings.CITIZEN_NOTIFY_SWEEP_HOURS)
    settled = now - timedelta(seconds=settings.CITIZEN_NOTIFY_SWEEP_DELAY_SECONDS)
    stale_attempt = now - timedelta(minutes=30)
    any_log = NotificationLog.objects.filter(message_id=OuterRef("pk"))
    stale_unsent = any_log.filter(sent_at__isnull=True).filter(
        Q(last_attempt_at__isnull=True, created_at__lt=stale_attempt) | Q(last_attempt_at__lt=stale_attempt)
    )
    ids = list(
        Message.objects.filter(
            thread__kind=Thread.Kind.CITIZEN,
            kind=Message.Kind.NORMAL,
            sender__kind=get_user_model().Kind.STAFF,
            created_at__gte=window_start,
            created_at__lte=settled,
        )
        .filter(_channel_has_address())
        .filter(~Exists(any_log) | Exists(stale_unsent))
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
    for message_id in ids:
        notify_citizen.delay(message_id=message_id)
    if ids:
        logger.info("notification sweep enqueued %s message(s)", len(ids))
    return len(ids)
