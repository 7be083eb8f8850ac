"""/metrics: the figures an operator watches, in the Prometheus text format, behind a token."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from absence.models import Absence
from absence.tasks import sweep
from mailboxes.models import Message
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_record
from tests import factories
from tests.absence.helpers import citizen_writes

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str = TOKEN) -> dict[str, float]:
    """{sample name with its labels: value} from one scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


@pytest.mark.parametrize(
    "configured, header",
    [
        ("", None),
        ("", "Bearer "),
        (TOKEN, None),
        (TOKEN, "Bearer wrong-token"),
        (TOKEN, f"Bearer {TOKEN}x"),
        (TOKEN, TOKEN),  # the scheme is part of it
        (TOKEN, f"Basic {TOKEN}"),
    ],
)
def test_metrics_are_not_found_without_the_right_token(client, settings, configured, header):
    settings.METRICS_TOKEN = configured
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 404
    assert b"lifemsg_" not in response.content


def test_metrics_refuse_other_methods(client, token):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


def _written_ago(message: Message, seconds: float) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_metrics_show_waiting_stranded_sweep_latency_and_liveness(client, token, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case, "Levererat direkt")  # routed at once: latency about 0
    waiting = citizen_writes(case, "Väntar", route=False)  # its routing task was lost
    _written_ago(waiting, 90)
    # The handler fell sick and the start-of-absence forwarding never ran: the first message is unread
    # and only with someone away.
    Absence.objects.create(
        handler=org.handler_a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=timezone.now() - timedelta(minutes=5),
        forward_to=org.unit_a.group_mailbox,
        set_by=org.admin,
    )

    before = scrape(client)
    assert before["lifemsg_routing_waiting_messages"] == 1
    assert before["lifemsg_routing_waiting_oldest_age_seconds"] >= 90
    assert before["lifemsg_unread_stranded_messages"] == 1
    assert before["lifemsg_sweep_runs_total"] == 0
    assert before["lifemsg_sweep_last_run_age_seconds"] == math.inf
    assert before["lifemsg_routing_latency_seconds_bucket{le=0.5}"] == 1
    assert before["lifemsg_routing_latency_seconds_bucket{le=+Inf}"] == 1
    assert before["lifemsg_routing_latency_seconds_gcount"] == 1
    assert before["lifemsg_worker_heartbeat_age_seconds"] == math.inf  # no worker ever reported
    assert before["lifemsg_workers_alive"] == 0
    assert before["lifemsg_beat_heartbeat_age_seconds"] == math.inf

    assert sweep() == {"routed": 1, "failed": 0, "forwarded": 1}
    heartbeat_record(component=Heartbeat.Component.WORKER, name="celery@a", task_finished=True)
    heartbeat_record(
        component=Heartbeat.Component.WORKER, name="celery@b", now=timezone.now() - timedelta(hours=1)
    )
    heartbeat_record(component=Heartbeat.Component.BEAT, name="beat-host")

    after = scrape(client)
    assert after["lifemsg_routing_waiting_messages"] == 0
    assert after["lifemsg_routing_waiting_oldest_age_seconds"] == 0
    assert after["lifemsg_unread_stranded_messages"] == 0
    assert after["lifemsg_sweep_runs_total"] == 1
    assert after["lifemsg_sweep_routed_messages_total"] == 1
    assert after["lifemsg_sweep_forwarded_messages_total"] == 1
    assert after["lifemsg_sweep_failed_messages_total"] == 0
    assert after["lifemsg_sweep_last_run_age_seconds"] < 30
    # The waiting message was routed by the sweep about 90 s after it was written.
    assert after["lifemsg_routing_latency_seconds_bucket{le=0.5}"] == 1
    assert after["lifemsg_routing_latency_seconds_bucket{le=60}"] == 1
    assert after["lifemsg_routing_latency_seconds_bucket{le=120}"] == 2
    assert after["lifemsg_routing_latency_seconds_gcount"] == 2
    assert 90 <= after["lifemsg_routing_latency_seconds_gsum"] < 120
    assert after["lifemsg_worker_heartbeat_age_seconds"] < 30
    assert after["lifemsg_worker_last_task_age_seconds"] < 30
    assert after["lifemsg_workers_alive"] == 1  # celery@b was last heard of an hour ago
    assert after["lifemsg_beat_heartbeat_age_seconds"] < 30

    sweep()
    assert scrape(client)["lifemsg_sweep_runs_total"] == 2  # a counter: it only grows


def test_latency_counts_only_messages_written_within_the_window(client, token, settings, org):
    settings.METRICS_ROUTING_WINDOW_SECONDS = 60
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    _written_ago(citizen_writes(case, "Gammalt"), 120)
    citizen_writes(case, "Nytt")
    assert scrape(client)["lifemsg_routing_latency_seconds_gcount"] == 1


def _messages(case, count: int) -> None:
    now = timezone.now()
    sender = case.citizen.user
    Message.objects.bulk_create(
        Message(
            thread=case.thread,
            sender=sender,
            body=f"Meddelande {i}",
            created_at=now - timedelta(minutes=i),
            routed_at=None if i % 10 == 0 else now - timedelta(minutes=i) + timedelta(seconds=1),
        )
        for i in range(count)
    )


def test_a_scrape_costs_the_same_queries_with_few_and_many_messages(
    client, token, org, django_assert_num_queries
):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    _messages(case, 3)
    # Five reads: waiting, latency, stranded, sweep totals, heartbeats.
    with django_assert_num_queries(5):
        scrape(client)
    _messages(case, 300)
    with django_assert_num_queries(5):
        scrape(client)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_message_queries_of_a_scrape_use_indexes(client, token, org):
    """With a month of messages, neither the waiting nor the latency figure scans the table."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    _messages(case, 30 * 24 * 6)  # one every ten minutes for a month (older than the window)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailboxes_message")
    with CaptureQueriesContext(connection) as captured:
        scrape(client)
    on_messages = [q["sql"] for q in captured.captured_queries if 'FROM "mailboxes_message"' in q["sql"]]
    assert len(on_messages) == 2, on_messages
    for sql in on_messages:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on mailboxes_message" not in plan, plan
        assert "Index" in plan, plan
