"""Webhooks: signed, retried with backoff, and never in routing's way."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from unittest import mock

import pytest
import requests
import responses
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from absence import hooks
from absence.routing import route_message
from eservices.services import citizen_message_send
from integrations import webhooks
from integrations.models import ApiClient, WebhookDelivery
from integrations.services import api_client_create
from integrations.tasks import deliver_webhook, webhook_sweep
from mailboxes.models import Delivery
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import wait_for

RECEIVER = "https://case-system.example.test/hooks/lifemsg"
FAST_RETRIES = {"WEBHOOK_BACKOFF_BASE_SECONDS": 0.2, "WEBHOOK_BACKOFF_MAX_SECONDS": 0.5}


def receiver_client(name: str = "arendesystem", scopes=(ApiClient.Scope.CASES_READ,)):
    return api_client_create(name=name, scopes=scopes, webhook_url=RECEIVER)


def external_case(org, external_id: str = "EXT-1"):
    from eservices.services import case_create

    return case_create(
        citizen=factories.citizen(),
        eservice=org.eservice_a,
        subject="Ärende",
        handler=org.handler_a1,
        external_id=external_id,
    )


def citizen_message(case, text: str = "Hemligt innehåll"):
    return citizen_message_send(case=case, citizen_user=case.citizen.user, body=text)


def test_the_hook_is_registered_with_routing(db):
    assert webhooks.citizen_message_routed in hooks.AFTER_ROUTING


@pytest.mark.django_db
def test_citizen_message_creates_one_delivery_per_receiving_client_and_enqueues_on_commit(
    org, django_capture_on_commit_callbacks
):
    receiver = receiver_client().client
    api_client_create(name="utan-webhook", scopes=[ApiClient.Scope.CASES_READ])
    api_client_create(name="utan-lasratt", scopes=[ApiClient.Scope.CASES_WRITE], webhook_url=RECEIVER)
    case = external_case(org)
    message = citizen_message(case)

    with (
        mock.patch.object(deliver_webhook, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        route_message(message_id=message.pk)

    delivery = WebhookDelivery.objects.get()
    assert delivery.client == receiver
    assert delivery.event == "citizen_message.received"
    assert delivery.payload["case"] == {"external_id": "EXT-1", "reference": case.reference}
    assert delivery.payload["message_id"] == message.pk
    assert "Hemligt" not in json.dumps(delivery.payload)
    delay.assert_called_once_with(delivery_id=str(delivery.pk))


@pytest.mark.django_db
def test_staff_messages_and_internal_threads_send_no_webhook(org, django_capture_on_commit_callbacks):
    from eservices.services import staff_message_send

    receiver_client()
    case = external_case(org)
    with mock.patch.object(deliver_webhook, "delay"):
        reply = staff_message_send(case=case, sender=org.handler_a1, body="Svar")
        route_message(message_id=reply.pk)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@responses.activate
def test_delivery_is_signed_with_the_clients_secret(org):
    issued = receiver_client()
    case = external_case(org)
    message = citizen_message(case)
    with mock.patch.object(deliver_webhook, "delay"):
        route_message(message_id=message.pk)
    responses.post(RECEIVER, status=204)

    wait = webhooks.webhook_attempt(delivery_id=str(WebhookDelivery.objects.get().pk))

    assert wait is None
    request = responses.calls[0].request
    # What a receiver does with any Standard Webhooks library: verify id, timestamp and signature.
    assert issued.webhook_secret.startswith("whsec_")
    receiver = Webhook(issued.webhook_secret)
    payload = receiver.verify(request.body, dict(request.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()).verify(
            request.body, dict(request.headers)
        )
    with pytest.raises(WebhookVerificationError):
        receiver.verify(request.body.replace(b"EXT-1", b"EXT-2"), dict(request.headers))
    with pytest.raises(WebhookVerificationError):
        receiver.verify(request.body, {**request.headers, "webhook-id": "another-delivery"})
    assert payload["event"] == request.headers["X-Lifemsg-Event"] == "citizen_message.received"
    assert payload["delivery_id"] == request.headers["webhook-id"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)


@pytest.mark.django_db
@responses.activate
@override_settings(WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_BACKOFF_BASE_SECONDS=10, WEBHOOK_BACKOFF_MAX_SECONDS=100)
def test_failed_delivery_waits_longer_each_time_and_gives_up_after_the_last_attempt(org):
    receiver_client()
    delivery = WebhookDelivery.objects.create(
        client=ApiClient.objects.get(), event="citizen_message.received", payload={"x": 1}
    )
    responses.post(RECEIVER, status=503)
    waits = []
    for _ in range(3):
        waits.append(webhooks.webhook_attempt(delivery_id=str(delivery.pk)))
        delivery.refresh_from_db()
        if waits[-1] is not None:
            assert delivery.next_attempt_at > timezone.now()
            # not due yet: a second runner finds nothing to do
            assert webhooks.webhook_attempt(delivery_id=str(delivery.pk)) is None
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24  # 10 s, then 20 s (±20 % jitter)
    assert waits[2] is None
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 503")
    assert len(responses.calls) == 3


@pytest.mark.django_db
@responses.activate
def test_unreachable_receiver_is_a_retry_not_an_error(org):
    receiver_client()
    delivery = WebhookDelivery.objects.create(client=ApiClient.objects.get(), event="e", payload={})
    responses.post(RECEIVER, body=requests.ConnectionError("refused"))
    assert webhooks.webhook_attempt(delivery_id=str(delivery.pk)) > 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("pending", "ConnectionError")


@pytest.mark.worker
@responses.activate
@override_settings(**FAST_RETRIES)
def test_worker_retries_with_backoff_until_the_receiver_answers(live_celery_worker, org):
    issued = receiver_client()
    responses.post(RECEIVER, status=500)
    responses.post(RECEIVER, status=502)
    responses.post(RECEIVER, status=200)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            client=issued.client, event="citizen_message.received", payload={"case": {"external_id": "X"}}
        )
        transaction.on_commit(lambda: deliver_webhook.delay(delivery_id=str(delivery.pk)))

    assert wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered", timeout=20)
    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert [c.response.status_code for c in responses.calls] == [500, 502, 200]
    ids = {call.request.headers["webhook-id"] for call in responses.calls}
    assert ids == {str(delivery.pk)}  # one id for every retry: the receiver drops duplicates by it
    for call in responses.calls:
        Webhook(issued.webhook_secret).verify(call.request.body, dict(call.request.headers))


@pytest.mark.django_db
@responses.activate
def test_routing_makes_no_http_call_and_a_dead_receiver_costs_it_nothing(
    org, django_capture_on_commit_callbacks
):
    receiver_client()
    case = external_case(org)
    message = citizen_message(case)
    responses.post(RECEIVER, body=requests.ConnectTimeout("hangs"))

    with (
        mock.patch.object(deliver_webhook, "delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = route_message(message_id=message.pk)

    assert [d.mailbox_id for d in created] == [mailbox_personal_for(org.handler_a1).pk]
    assert len(responses.calls) == 0
    assert WebhookDelivery.objects.filter(status="pending").count() == 1


@pytest.mark.django_db
def test_a_failing_webhook_hook_does_not_stop_routing(org, django_capture_on_commit_callbacks):
    from django.db import IntegrityError

    receiver_client()
    case = external_case(org)
    message = citizen_message(case)

    with (
        mock.patch("integrations.webhooks.webhook_event_create", side_effect=IntegrityError("boom")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = route_message(message_id=message.pk)

    assert len(created) == 1
    message.refresh_from_db()
    assert message.routed_at is not None
    assert Delivery.objects.filter(message=message).count() == 1


@pytest.mark.django_db
def test_broker_down_at_enqueue_leaves_the_delivery_for_the_sweep(org, django_capture_on_commit_callbacks):
    receiver_client()
    case = external_case(org)
    message = citizen_message(case)

    with (
        mock.patch.object(deliver_webhook, "delay", side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = route_message(message_id=message.pk)
    assert len(created) == 1
    delivery = WebhookDelivery.objects.get()

    with mock.patch.object(deliver_webhook, "delay") as delay:
        assert webhook_sweep() == 0  # not overdue yet
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() - timedelta(hours=1)
        )
        assert webhook_sweep() == 1
    delay.assert_called_once_with(delivery_id=str(delivery.pk))


@pytest.mark.django_db
def test_handled_hook_sends_who_handled_the_thread(org, django_capture_on_commit_callbacks):
    receiver_client()
    case = external_case(org)
    with (
        mock.patch.object(deliver_webhook, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        webhooks.citizen_thread_handled(
            thread=case.thread, mailbox=org.unit_a.group_mailbox, user=org.handler_a2
        )
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "citizen_message.handled"
    assert delivery.payload["handled_by"] == org.handler_a2.username
    assert delivery.payload["mailbox_kind"] == "group"
    assert delivery.payload["case"]["external_id"] == "EXT-1"
    delay.assert_called_once()


@pytest.mark.django_db
@responses.activate
def test_revoked_client_gets_no_more_webhooks(org):
    from integrations.services import api_client_revoke

    issued = receiver_client()
    delivery = WebhookDelivery.objects.create(client=issued.client, event="e", payload={})
    api_client_revoke(client=issued.client)
    assert webhooks.webhook_attempt(delivery_id=str(delivery.pk)) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert len(responses.calls) == 0
