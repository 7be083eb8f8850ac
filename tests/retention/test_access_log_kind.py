"""The access log under the rule table: a run removes the listed prefix of the chain, with an anchor,
so what is left still verifies; the database's own period is never undercut."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AccessLogEntry, AuditEvent
from audit.services import access_log_verify
from retention_rules.execution import run_until_done
from retention_rules.models import Kind, RetentionRule, RetentionRun
from retention_rules.services import run_approve, run_propose
from tests.audit.conftest import case_a, read_thread  # noqa: F401  (fixture)

from .test_runs import change

pytestmark = pytest.mark.django_db

DAYS = settings.ACCESS_LOG_RETENTION_DAYS


@pytest.fixture
def reads(org, case_a, monkeypatch):  # noqa: F811
    """Three reads past the access log's period, then two inside it."""
    now = timezone.now()
    entries = []
    for when, user in [(now - timedelta(days=DAYS + 30 - i), org.handler_a1) for i in range(3)] + [
        (now - timedelta(days=10 - i), org.handler_a2) for i in range(2)
    ]:
        monkeypatch.setattr(timezone, "now", lambda when=when: when)
        entries.append(read_thread(user, case_a))
        monkeypatch.undo()
    return entries


def test_a_run_removes_the_listed_prefix_and_the_rest_still_verifies(org, reads, archivist, case_a):  # noqa: F811
    run = run_propose(proposer=org.sysadmin)
    log = run.criteria[Kind.ACCESS_LOG]
    assert (log["first_seq"], log["through_seq"], run.review[Kind.ACCESS_LOG]["delete"]) == (1, 3, 3)
    assert AccessLogEntry.objects.count() == 5  # listed, not removed
    run_approve(run_id=run.pk, approver=archivist)
    read_thread(org.handler_a1, case_a)  # the log goes on meanwhile
    run_until_done(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == RetentionRun.State.DONE
    assert run.done_counts[Kind.ACCESS_LOG] == {"entries": 3}
    assert list(AccessLogEntry.objects.order_by("seq").values_list("seq", flat=True)) == [4, 5, 6]
    assert access_log_verify().ok
    assert AuditEvent.objects.get(action="retention.access_log").after["through_seq"] == 3


def test_a_rule_shorter_than_the_databases_period_removes_no_more_than_the_database_allows(
    org, reads, archivist
):
    change(Kind.ACCESS_LOG, archivist, period=1, unit=RetentionRule.Unit.DAYS)
    run = run_propose(proposer=archivist)
    assert run.review[Kind.ACCESS_LOG]["delete"] == 3
    run_approve(run_id=run.pk, approver=org.sysadmin)
    run_until_done(run_id=run.pk)
    assert AccessLogEntry.objects.count() == 2
    assert access_log_verify().ok


def test_a_rule_that_keeps_the_access_log_lists_none_of_it(org, reads, archivist):
    change(Kind.ACCESS_LOG, org.sysadmin, period=None)
    run = run_propose(proposer=org.sysadmin)
    assert run.review[Kind.ACCESS_LOG]["delete"] == 0
    run_approve(run_id=run.pk, approver=archivist)
    run_until_done(run_id=run.pk)
    assert AccessLogEntry.objects.count() == 5
