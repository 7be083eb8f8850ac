"""Webhooks to the case system: signed HMAC-SHA256, retried with backoff by a Celery task.

Events (payloads carry ids and times, never message content):
- `citizen_message.received`: a citizen's message has been routed (absence.hooks.AFTER_ROUTING);
- `citizen_message.handled`: a citizen thread was marked handled in a mailbox (mailboxes' handled
  hook, see `citizen_thread_handled`).

Routing must never wait for, or fail because of, a receiver: the hooks only write WebhookDelivery
rows (inside a savepoint, so even a failing insert leaves routing's transaction intact) and enqueue
the sending task on commit. HTTP happens in `integrations.deliver_webhook` only. A periodic sweep
re-enqueues deliveries whose task was lost.

Signature: the Standard Webhooks headers (https://www.standardwebhooks.com), which receivers verify
with any of its libraries: `webhook-id` (the delivery's UUID, the same on every retry),
`webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<raw body>">`, keyed with the client's `whsec_…` secret.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
from datetime import datetime, timedelta

import requests
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from eservices.models import Case

from .models import ApiClient, WebhookDelivery

logger = logging.getLogger(__name__)

EVENT_RECEIVED = "citizen_message.received"
EVENT_HANDLED = "citizen_message.handled"


# --- signing ----------------------------------------------------------------------------------


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def secret_new() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, secret: str, delivery_id: str, body: bytes, now: datetime) -> dict[str, str]:
    # A secret from before the Standard Webhooks format (not `whsec_`) keys the HMAC with its own bytes.
    signer = Webhook(secret if secret.startswith("whsec_") else secret.encode())
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(msg_id=delivery_id, timestamp=now, data=body),
    }


# --- creating events --------------------------------------------------------------------------


def _receivers() -> list[ApiClient]:
    """Active clients with a webhook URL and the right to read case metadata (what a payload holds).
    A handful of rows: filtered here rather than with a JSON lookup that SQLite lacks."""
    return [
        client
        for client in ApiClient.objects.filter(is_active=True).exclude(webhook_url="")
        if client.has_scope(ApiClient.Scope.CASES_READ)
    ]


def _case_ref(case) -> dict:
    return {"external_id": case.external_id, "reference": case.reference}


def webhook_event_create(
    *, event: str, payload: dict, receivers: list[ApiClient] | None = None
) -> list[WebhookDelivery]:
    """One delivery per receiving client, enqueued on commit."""
    now = timezone.now()
    deliveries = [
        WebhookDelivery(client=client, event=event, payload=payload, next_attempt_at=now, created_at=now)
        for client in (_receivers() if receivers is None else receivers)
    ]
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [str(d.pk) for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))
    return deliveries


def _enqueue(delivery_ids: list[str]) -> None:
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id=delivery_id)
        except Exception:  # broker down: the sweep sends it
            logger.warning("could not enqueue webhook delivery %s; the sweep will send it", delivery_id)


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
    wait = webhook_attempt(delivery_id=delivery_id)
    if wait is None:
        return "done"
    raise self.retry(countdown=wait)


def _guarded(create) -> None:
    """Run `create` in a savepoint and swallow any error: a webhook must never cost a routing."""
    try:
        with transaction.atomic():
            create()
    except Exception:
        logger.exception("webhook event could not be recorded; routing continues")


def citizen_message_routed(*, routed) -> None:
    """absence.hooks.AFTER_ROUTING hook: citizens' messages arrived (one routing batch)."""
    arrived = [
        message
        for message, _ in routed
        if message.thread.is_citizen and message.sender is not None and message.sender.is_citizen
    ]
    if not arrived:
        return

    def create() -> None:
        receivers = _receivers()  # usually none: then this hook costs routing one small query
        if not receivers:
            return
        cases = {
            case.thread_id: case
            for case in Case.objects.filter(thread_id__in={m.thread_id for m in arrived}).order_by()
        }
        for message in arrived:
            case = cases.get(message.thread_id)
            if case is None:
                continue
            webhook_event_create(
                receivers=receivers,
                event=EVENT_RECEIVED,
                payload={
                    "event": EVENT_RECEIVED,
                    "case": _case_ref(case),
                    "thread_id": message.thread_id,
                    "message_id": message.pk,
                    "received_at": message.created_at.isoformat(),
                    "sender_kind": "citizen",
                },
            )

    _guarded(create)


def citizen_thread_handled(
    *, thread, user=None, mailbox=None, handled_at: datetime | None = None, **_
) -> None:
    """mailboxes' "handled" hook: one line in the service that marks a thread handled in a mailbox,
    `for hook in hooks.AFTER_HANDLED: hook(thread=thread, mailbox=mailbox, user=user)`."""
    if not thread.is_citizen:
        return

    def create() -> None:
        receivers = _receivers()
        case = Case.objects.filter(thread_id=thread.pk).first() if receivers else None
        if case is None:
            return
        webhook_event_create(
            receivers=receivers,
            event=EVENT_HANDLED,
            payload={
                "event": EVENT_HANDLED,
                "case": _case_ref(case),
                "thread_id": thread.pk,
                "handled_at": (handled_at or timezone.now()).isoformat(),
                "handled_by": user.username if user is not None else None,
                "mailbox_kind": getattr(mailbox, "kind", None),
            },
        )

    _guarded(create)


# --- sending ----------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter after `attempts` failed attempts, capped."""
    base = settings.WEBHOOK_BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.WEBHOOK_BACKOFF_MAX_SECONDS) * random.uniform(0.8, 1.2)


def _claim(delivery_id: str) -> WebhookDelivery | None:
    """Take the delivery for one attempt: a conditional UPDATE, so two runners (a retry and the
    sweep) never send the same attempt twice. The lease covers the HTTP timeout."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("client")
            .filter(
                pk=delivery_id,
                status=WebhookDelivery.Status.PENDING,
                # a retry's ETA may fire a moment before the row's due time
                next_attempt_at__lte=now + timedelta(seconds=2),
            )
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def webhook_attempt(*, delivery_id: str) -> float | None:
    """One attempt to send a delivery. Returns None when there is nothing more to do (delivered,
    given up, or not due), else the seconds to wait before the next attempt."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    client = delivery.client
    body = body_bytes({**delivery.payload, "delivery_id": str(delivery.pk)})
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lifemsg-webhooks/1",
        "X-Lifemsg-Event": delivery.event,
        **signed_headers(
            secret=client.webhook_secret, delivery_id=str(delivery.pk), body=body, now=timezone.now()
        ),
    }
    status_code, error = None, ""
    if not client.is_active or not client.webhook_url:
        error = "client inactive or without webhook URL"
    else:
        try:
            response = requests.post(
                client.webhook_url,
                data=body,
                headers=headers,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__
    now = timezone.now()
    updates: dict = {"last_status_code": status_code, "last_error": error[:300]}
    wait = None
    if not error:
        updates.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now)
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not client.is_active:
        updates["status"] = WebhookDelivery.Status.FAILED
        logger.error(
            "webhook %s to %s given up after %s attempts: %s", delivery.pk, client, delivery.attempts, error
        )
    else:
        wait = backoff_seconds(delivery.attempts)
        updates["next_attempt_at"] = now + timedelta(seconds=wait)
        logger.warning("webhook %s to %s failed (%s); retry in %.0f s", delivery.pk, client, error, wait)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**updates)
    return wait


def webhook_due_ids(*, grace_seconds: int, limit: int = 1000) -> list[str]:
    """Pending deliveries overdue by more than `grace_seconds`: their task was lost (broker down at
    enqueue, worker died). Retries that are merely scheduled are not overdue."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    return [
        str(pk)
        for pk in WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING) & Q(next_attempt_at__lte=cutoff)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
