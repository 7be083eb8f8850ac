"""The benchmark's workload (bench/workload.py) written in batches, as `--scale 10` needs, with the
rare search word in place; and the capacity phase's verdict on what limits it (bench/capacity.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.capacity import limiting

pytestmark = pytest.mark.django_db


def test_the_workload_written_in_batches_is_whole_and_searchable(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the workload is written by PostgreSQL COPY")
    from bench import workload
    from mailboxes.models import Delivery, MailboxThread, Message, Thread
    from mailboxes.search import search_threads

    monkeypatch.setattr(workload, "BATCH_THREADS", 30)  # 70 threads: three batches
    monkeypatch.setattr(workload, "RARE_EVERY", 10)
    w = workload.seed(citizens=70, handlers_per_unit=1)
    assert (w.threads, w.messages) == (70, 700)
    assert Thread.objects.count() == 70 and Message.objects.count() == 700
    assert Delivery.objects.count() == w.deliveries
    assert MailboxThread.objects.count() == 140  # the handler's and the group mailbox's summary each
    # New rows get ids after the COPY's explicit ones.
    assert Message.objects.order_by("-id").values_list("id", flat=True)[0] == 700
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [workload.SEARCH_INDEX])
        assert cursor.fetchone() is not None
    rare = {t for t in Thread.objects.values_list("id", flat=True) if t % 10 == 0}
    found = set()
    for handlers in w.handlers_by_unit.values():
        for handler in handlers:
            rows = search_threads(user=handler, query=workload.RARE_WORD)
            found |= {row.thread_id for row in rows}
    assert found == rare


def test_capacity_names_the_busiest_kind_of_process():
    verdict = limiting({"web": 50.0, "postgres": 20.0, "celery": 2.0}, wall_s=45.0, cores=2)
    assert verdict.startswith("web (web 56%, postgres 22%, celery 2% of 2 cores)")
