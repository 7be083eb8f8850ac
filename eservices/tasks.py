import logging

from celery import shared_task

from mailboxes.models import Message

from .models import Case
from .notifications import citizen_notify

logger = logging.getLogger(__name__)


@shared_task(
    name="eservices.notify_citizen",
    acks_late=True,
    autoretry_for=(Exception,),
    max_retries=8,
    retry_backoff=5,
    retry_backoff_max=600,
    time_limit=60,
)
def notify_citizen(*, message_id: int) -> list[str]:
    message = Message.objects.select_related("thread").filter(pk=message_id).first()
    if message is None:
        return []
    case = Case.objects.select_related("citizen").filter(thread_id=message.thread_id).first()
    if case is None:
        return []
    return citizen_notify(citizen=case.citizen)
