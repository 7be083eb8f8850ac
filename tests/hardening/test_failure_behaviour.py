"""Failure behaviour: with Redis (broker and cache) unreachable, citizens and staff can still send —
the message is stored, shown as sent, and the routing sweep delivers it once the broker is back; with
PostgreSQL unreachable, every kind of page answers with the Swedish 503 page, quickly."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from django.test import override_settings
from django.urls import reverse

from absence.tasks import sweep
from lifemsg.celery import app as celery_app
from mailboxes.models import Delivery, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import login
from tests.test_foundation_infra import CLOSED_PORT_POSTGRES, CLOSED_PORT_REDIS, REPO, base_env

FAST_SECONDS = 5

DEAD_CACHE = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CLOSED_PORT_REDIS,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}


def _reset_celery_pools() -> None:
    # Celery keeps a connection pool (and kombu a producer pool) per broker connection.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def redis_down():
    """Broker and cache both pointing at a closed port, as when the Redis server is down."""
    old = celery_app.conf.broker_url
    celery_app.conf.broker_url = CLOSED_PORT_REDIS
    _reset_celery_pools()
    try:
        with override_settings(CELERY_BROKER_URL=CLOSED_PORT_REDIS, CACHES=DEAD_CACHE):
            yield
    finally:
        celery_app.conf.broker_url = old
        _reset_celery_pools()


@pytest.fixture
def transactional_org(transactional_db):
    return factories.Organisation.build()


@pytest.mark.django_db(transaction=True)
def test_citizen_message_is_accepted_with_redis_down_and_the_sweep_delivers_it(
    client, transactional_org, caplog
):
    caplog.set_level(logging.WARNING)
    org = transactional_org
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    login(client, case.citizen.user)
    url = reverse("eservices:case", args=[case.pk])
    with redis_down():
        started = time.monotonic()
        response = client.post(url, {"body": "Skickat när Redis låg nere"}, follow=True)
        seconds = time.monotonic() - started
    assert seconds < FAST_SECONDS, f"the request took {seconds:.1f} s"
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ditt meddelande har skickats." in page and "Skickat när Redis låg nere" in page
    message = Message.objects.get(body="Skickat när Redis låg nere")
    assert message.routed_at is None
    # Really down: neither the routing task nor the rate-limit counter reached Redis.
    assert f"could not enqueue routing for message {message.pk}" in caplog.text
    assert "rate-limit cache unavailable" in caplog.text
    handler_box = mailbox_personal_for(org.handler_a1)
    assert not Delivery.objects.filter(message=message).exists()

    with override_settings(ROUTING_SWEEP_AGE_SECONDS=0):
        assert sweep()["routed"] >= 1
    message.refresh_from_db()
    assert message.routed_at is not None
    assert Delivery.objects.filter(message=message, mailbox=handler_box).exists()
    # And the handler sees it in the inbox.
    login(client, org.handler_a1)
    thread_page = client.get(reverse("mailboxes:case_thread", args=[case.pk])).content.decode()
    assert "Skickat när Redis låg nere" in thread_page


@pytest.mark.django_db(transaction=True)
def test_staff_message_is_accepted_with_redis_down_and_the_sweep_delivers_it(
    client, transactional_org, caplog
):
    caplog.set_level(logging.WARNING)
    org = transactional_org
    login(client, org.handler_a1)
    to = mailbox_personal_for(org.handler_a2)
    with redis_down():
        started = time.monotonic()
        response = client.post(
            reverse("mailboxes:compose"),
            {"recipients": [to.pk], "subject": "Redis nere", "body": "Internt när Redis låg nere"},
            follow=True,
        )
        seconds = time.monotonic() - started
    assert seconds < FAST_SECONDS, f"the request took {seconds:.1f} s"
    assert response.status_code == 200
    assert "Ditt meddelande har skickats." in response.content.decode()
    message = Message.objects.get(body="Internt när Redis låg nere")
    assert message.routed_at is None
    assert f"could not enqueue routing for message {message.pk}" in caplog.text
    with override_settings(ROUTING_SWEEP_AGE_SECONDS=0):
        sweep()
    assert Delivery.objects.filter(message=message, mailbox=to).exists()


def test_publish_settings_make_a_dead_broker_fail_fast():
    conf = celery_app.conf
    assert conf.task_publish_retry_policy["max_retries"] <= 1
    assert conf.broker_transport_options["socket_connect_timeout"] <= 2
    assert conf.broker_connection_timeout <= 2


DB_DOWN_IN_SUBPROCESS = """
import json, time
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "x" * 32   # a logged-in browser: the session is read from the database
results = []
for method, url, data in [
    ("post", "/logga-in/", {"username": "anna", "password": "secret-password-1"}),
    ("post", "/medborgare/logga-in/", {"personnummer": "19121212-1212"}),
    ("get", "/brevlador/", None),
    ("get", "/medborgare/", None),
]:
    started = time.monotonic()
    response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    results.append({"url": url, "status": response.status_code, "body": response.content.decode(),
                    "seconds": time.monotonic() - started})
print(json.dumps(results))
"""


def test_database_down_gives_the_swedish_503_page_on_real_pages(tmp_path):
    env = base_env(
        tmp_path, DJANGO_SETTINGS_MODULE="lifemsg.settings.test", DATABASE_URL=CLOSED_PORT_POSTGRES
    )
    result = subprocess.run(
        [sys.executable, "-c", DB_DOWN_IN_SUBPROCESS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for outcome in json.loads(result.stdout.strip().splitlines()[-1]):
        assert outcome["status"] == 503, (outcome["url"], outcome["status"], outcome["body"][:500])
        assert "Tjänsten är tillfälligt inte tillgänglig" in outcome["body"]
        assert "Inget har sparats" in outcome["body"]
        assert outcome["seconds"] < FAST_SECONDS
