"""`/metrics`: what an operator watches, in the Prometheus text format (prometheus-client).

Every figure is read from the database when Prometheus scrapes, so every web process answers alike
and nothing is lost when one restarts (no multiprocess mode, no in-process counters):

    lifemsg_routing_waiting_messages                  stored, not yet routed
    lifemsg_routing_waiting_oldest_age_seconds        age of the oldest of them (0: none waits)
    lifemsg_routing_latency_seconds                   written -> routed, messages (not automatic
                                                      replies) written in the last
                                                      METRICS_ROUTING_WINDOW_SECONDS (gauge histogram)
    lifemsg_unread_stranded_messages                  unread, only with handlers away for it (must be 0)
    lifemsg_sweep_runs_total, ..._routed_messages_total, ..._forwarded_messages_total,
    ..._failed_messages_total                         the routing sweep's runs and repairs
    lifemsg_sweep_last_run_age_seconds                since its last finished run
    lifemsg_worker_heartbeat_age_seconds, lifemsg_worker_last_task_age_seconds, lifemsg_workers_alive,
    lifemsg_beat_heartbeat_age_seconds                liveness (+Inf: never reported)

Not public: answered only with `Authorization: Bearer <METRICS_TOKEN>`, else 404, as if it did not
exist. Five queries a scrape, each on an index: the partial index of unrouted messages, the
created_at index over the window, the unread deliveries of the handlers away now or back within the
week (absence.routing's own check; two reads more while any message is stranded), and two one-row
tables.
"""

from __future__ import annotations

import hmac
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from absence.routing import stranded_unread
from mailboxes.models import Message
from monitoring import selectors
from monitoring.models import Heartbeat

# Upper bounds (seconds) of the routing latency buckets: normal routing takes well under a second,
# the sweep's repairs a minute or more.
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _age(at: datetime | None, now: datetime) -> float:
    return math.inf if at is None else max((now - at).total_seconds(), 0.0)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class LifemsgCollector(Collector):
    def collect(self):
        now = timezone.now()
        yield from self.routing(now)
        stranded = sum(len(ids) for ids in stranded_unread(now).values())
        yield _gauge(
            "lifemsg_unread_stranded_messages",
            "Unread messages whose only copies are with handlers who are away (must be 0).",
            stranded,
        )
        yield from self.sweep(now)
        yield from self.liveness(now)

    def routing(self, now: datetime):
        # Index-only on message_unrouted_idx (created_at WHERE routed_at IS NULL).
        waiting = Message.objects.filter(routed_at__isnull=True).aggregate(
            n=Count("*"), oldest=Min("created_at")
        )
        yield _gauge("lifemsg_routing_waiting_messages", "Messages stored but not yet routed.", waiting["n"])
        yield _gauge(
            "lifemsg_routing_waiting_oldest_age_seconds",
            "Age of the oldest message waiting to be routed (0 when none waits).",
            0.0 if waiting["oldest"] is None else _age(waiting["oldest"], now),
        )
        yield self.latency(now)

    @staticmethod
    def latency(now: datetime) -> GaugeHistogramMetricFamily:
        window = settings.METRICS_ROUTING_WINDOW_SECONDS
        latency = ExpressionWrapper(F("routed_at") - F("created_at"), output_field=DurationField())
        buckets = {
            f"le_{i}": Count("pk", filter=Q(latency__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(LATENCY_BUCKETS)
        }
        # A range scan of the created_at index over the window. Automatic replies are stored routed
        # (instantly) and would only flatter the figure.
        row = (
            Message.objects.filter(
                created_at__gte=now - timedelta(seconds=window),
                routed_at__isnull=False,
                kind=Message.Kind.NORMAL,
            )
            .annotate(latency=latency)
            .aggregate(count=Count("*"), total=Sum("latency"), **buckets)
        )
        cumulative = [(f"{bound:g}", row[f"le_{i}"]) for i, bound in enumerate(LATENCY_BUCKETS)]
        cumulative.append(("+Inf", row["count"]))
        return GaugeHistogramMetricFamily(
            "lifemsg_routing_latency_seconds",
            f"Seconds from writing to routing, for the messages written in the last {window} s and routed.",
            buckets=cumulative,
            gsum_value=row["total"].total_seconds() if row["total"] else 0.0,
        )

    @staticmethod
    def sweep(now: datetime):
        totals = selectors.sweep_totals()
        for name, value, documentation in (
            ("lifemsg_sweep_runs", totals.runs, "Runs of the routing sweep."),
            (
                "lifemsg_sweep_routed_messages",
                totals.routed,
                "Messages a lost task left, routed by the sweep.",
            ),
            (
                "lifemsg_sweep_forwarded_messages",
                totals.forwarded,
                "Unread messages left only with absent handlers, forwarded by the sweep.",
            ),
            ("lifemsg_sweep_failed_messages", totals.failed, "Messages the sweep could not route."),
        ):
            yield CounterMetricFamily(name, documentation, value=value)
        yield _gauge(
            "lifemsg_sweep_last_run_age_seconds",
            "Seconds since the routing sweep last finished a run (+Inf: never).",
            _age(totals.last_finished_at, now),
        )

    @staticmethod
    def liveness(now: datetime):
        worker, beat = Heartbeat.Component.WORKER, Heartbeat.Component.BEAT
        seen = selectors.components_seen(
            now=now,
            max_age={
                worker: timedelta(seconds=settings.LIVENESS_WORKER_MAX_AGE_SECONDS),
                beat: timedelta(seconds=settings.LIVENESS_BEAT_MAX_AGE_SECONDS),
            },
        )
        yield _gauge(
            "lifemsg_worker_heartbeat_age_seconds",
            "Seconds since the most recent heartbeat of any Celery worker (+Inf: never).",
            _age(seen[worker].latest_seen_at, now),
        )
        yield _gauge(
            "lifemsg_worker_last_task_age_seconds",
            "Seconds since a Celery worker last reported a finished task (+Inf: never).",
            _age(seen[worker].latest_task_finished_at, now),
        )
        yield _gauge(
            "lifemsg_workers_alive",
            "Celery workers whose heartbeat is within LIVENESS_WORKER_MAX_AGE_SECONDS.",
            seen[worker].alive,
        )
        yield _gauge(
            "lifemsg_beat_heartbeat_age_seconds",
            "Seconds since Celery beat's last heartbeat (+Inf: never).",
            _age(seen[beat].latest_seen_at, now),
        )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(LifemsgCollector())


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    # Constant time: the comparison must not tell how much of a guess was right.
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        raise Http404
    response = HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    add_never_cache_headers(response)
    return response


urlpatterns = [path("metrics", metrics, name="metrics")]
