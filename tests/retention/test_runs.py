"""Issue 24's acceptance for retention: a run lists before it deletes, deletes only after a second
person approves, keeps the research sample, writes its counts to the change log, and the rule table
drives it (changing a rule changes the outcome)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEvent
from mailboxes.models import Attachment, Message
from retention_rules.execution import run_step, run_until_done
from retention_rules.models import Kind, RetentionItem, RetentionRule, RetentionRun
from retention_rules.rules import rules_in_effect
from retention_rules.services import RunRefused, rule_change, run_approve, run_cancel, run_propose
from tests.mailboxes.conftest import citizen_writes

from .conftest import DAYS, clock

pytestmark = pytest.mark.django_db


def exists(*messages) -> list[bool]:
    return [Message.objects.filter(pk=m.pk).exists() for m in messages]


def change(kind, actor, **fields):
    rule = rules_in_effect()[kind]
    values = {
        "period": rule.period,
        "unit": rule.unit,
        "decision": "Arkivmyndighetens beslut dnr KS 2024/117, 2024-05-02",
        "research_sample": rule.research_sample,
        "active_from": timezone.localdate(),
        **fields,
    }
    return rule_change(kind=kind, actor=actor, **values)


def test_the_seeded_rules_are_todays_retention():
    rules = rules_in_effect()
    assert set(rules) == set(Kind.values)
    for kind in (Kind.CITIZEN_THREAD, Kind.INTERNAL_THREAD, Kind.ATTACHMENT):
        assert (rules[kind].period, rules[kind].unit) == (DAYS, RetentionRule.Unit.DAYS)
    assert rules[Kind.ACCESS_LOG].period == 5 * 365
    assert rules[Kind.CHANGE_LOG].period is None
    assert rules[Kind.CITIZEN_THREAD].research_sample and rules[Kind.ATTACHMENT].research_sample
    assert not rules[Kind.INTERNAL_THREAD].research_sample


def test_a_proposed_run_lists_what_would_go_and_what_is_kept_and_removes_nothing(org, records):
    r = records
    run = run_propose(proposer=org.sysadmin)
    assert run.state == RetentionRun.State.PROPOSED
    assert run.review[Kind.CITIZEN_THREAD] == {"delete": 1, "keep": {"research_sample": 2, "open_case": 1}}
    assert run.review[Kind.INTERNAL_THREAD] == {"delete": 1, "keep": {}}
    listed = dict(
        RetentionItem.objects.filter(run=run, kind=Kind.CITIZEN_THREAD).values_list(
            "object_id", "keep_reason"
        )
    )
    assert listed == {
        r.plain.pk: "",
        r.research.pk: "research_sample",
        r.coordination.pk: "research_sample",
        r.open_case.pk: "open_case",
    }
    assert all(exists(r.plain, r.research, r.coordination, r.open_case, r.internal, r.new))
    event = AuditEvent.objects.get(action="retention.run_propose")
    assert event.actor == org.sysadmin
    assert event.after["review"][Kind.CITIZEN_THREAD]["delete"] == 1


def test_nothing_is_removed_before_approval(org, records):
    run = run_propose(proposer=org.sysadmin)
    assert run_step(run_id=run.pk) is False
    assert Message.objects.filter(pk=records.plain.pk).exists()
    assert RetentionRun.objects.get(pk=run.pk).state == RetentionRun.State.PROPOSED


def test_after_approval_the_run_removes_exactly_the_list_and_writes_counts_to_the_change_log(
    org, records, archivist, django_capture_on_commit_callbacks
):
    r = records
    run = run_propose(proposer=org.sysadmin)
    # A message that grows old after the list was made is not on it, so it stays.
    with clock(timezone.now() - timedelta(days=DAYS + 1)):
        late = citizen_writes(r.plain.thread.case, body="Blev gammalt efter listan")
    with django_capture_on_commit_callbacks() as callbacks:
        run_approve(run_id=run.pk, approver=archivist)
    assert callbacks, "approval queues the run on commit"
    assert run_until_done(run_id=run.pk, batch_size=1)
    run.refresh_from_db()
    assert run.state == RetentionRun.State.DONE
    assert exists(r.plain, r.internal) == [False, False]
    assert all(exists(r.research, r.coordination, r.open_case, r.new, r.new_internal, late))
    assert run.done_counts[Kind.CITIZEN_THREAD]["messages"] == 1
    assert run.done_counts[Kind.CITIZEN_THREAD]["attachments"] == 1
    assert run.done_counts[Kind.INTERNAL_THREAD]["messages"] == 1
    done = AuditEvent.objects.get(action="retention.run_done")
    assert done.after["removed"][Kind.CITIZEN_THREAD]["messages"] == 1
    assert done.after["review"][Kind.CITIZEN_THREAD]["keep"] == {"research_sample": 2, "open_case": 1}
    assert AuditEvent.objects.get(action="retention.run_approve").actor == archivist
    batches = AuditEvent.objects.filter(action="retention.messages", after__run=run.pk)
    assert batches.count() == 2  # one per batch of one


def test_the_research_sample_goes_when_the_rule_no_longer_keeps_it(org, records, archivist):
    change(Kind.CITIZEN_THREAD, org.sysadmin, research_sample=False)
    run = run_propose(proposer=org.sysadmin)
    assert run.review[Kind.CITIZEN_THREAD] == {"delete": 3, "keep": {"open_case": 1}}
    run_approve(run_id=run.pk, approver=archivist)
    run_until_done(run_id=run.pk)
    assert exists(records.research, records.coordination, records.open_case) == [False, False, True]


def test_a_shorter_period_lists_more(org, records):
    before = run_propose(proposer=org.sysadmin)
    assert before.review[Kind.INTERNAL_THREAD]["delete"] == 1
    change(Kind.INTERNAL_THREAD, org.sysadmin, period=5, unit=RetentionRule.Unit.DAYS)
    after = run_propose(proposer=org.sysadmin)
    assert after.review[Kind.INTERNAL_THREAD]["delete"] == 2
    # A rule that keeps (no period) lists nothing of its kind.
    change(Kind.CITIZEN_THREAD, org.sysadmin, period=None)
    kept = run_propose(proposer=org.sysadmin)
    assert kept.review[Kind.CITIZEN_THREAD] == {"delete": 0, "keep": {}}


def test_the_proposer_and_the_rule_setter_cannot_approve_and_others_may_not_at_all(org, records, archivist):
    run = run_propose(proposer=org.sysadmin)
    with pytest.raises(RunRefused, match="någon annan måste godkänna"):
        run_approve(run_id=run.pk, approver=org.sysadmin)
    with pytest.raises(PermissionDenied):
        run_approve(run_id=run.pk, approver=org.superuser)
    change(Kind.INTERNAL_THREAD, archivist, period=20, unit=RetentionRule.Unit.YEARS)
    run = run_propose(proposer=None)
    with pytest.raises(RunRefused, match="Du har satt en regel"):
        run_approve(run_id=run.pk, approver=archivist)
    assert run_approve(run_id=run.pk, approver=org.sysadmin).state == RetentionRun.State.APPROVED


def test_changing_a_rule_cancels_a_waiting_run_and_stops_an_approved_one(org, records, archivist):
    waiting = run_propose(proposer=org.sysadmin)
    change(Kind.CITIZEN_THREAD, org.sysadmin, period=20, unit=RetentionRule.Unit.YEARS)
    waiting.refresh_from_db()
    assert (waiting.state, waiting.end_reason) == (RetentionRun.State.CANCELLED, "rules_changed")

    approved = run_propose(proposer=org.sysadmin)
    run_approve(run_id=approved.pk, approver=archivist)
    # A version that comes into effect later: nothing cancels it at the change, the run sees it.
    RetentionRule.objects.filter(pk=rules_in_effect()[Kind.INTERNAL_THREAD].pk).update(
        active_from=timezone.localdate() + timedelta(days=1)
    )
    assert run_step(run_id=approved.pk) is False
    approved.refresh_from_db()
    assert approved.state == RetentionRun.State.CANCELLED
    assert approved.end_reason == "rules_changed_after_approval"
    assert Message.objects.filter(pk=records.internal.pk).exists()
    assert AuditEvent.objects.filter(action="retention.run_cancelled", target_id=str(approved.pk)).exists()


def test_a_run_cut_short_goes_on_from_where_it_stopped(org, records, archivist):
    run = run_propose(proposer=org.sysadmin)
    run_approve(run_id=run.pk, approver=archivist)
    assert run_step(run_id=run.pk, batch_size=1) is True  # the worker dies after this batch
    run.refresh_from_db()
    assert run.state == RetentionRun.State.RUNNING
    assert RetentionItem.objects.filter(run=run, done=True).count() == 1
    run_until_done(run_id=run.pk, batch_size=1)  # redelivered
    run_until_done(run_id=run.pk, batch_size=1)  # and once more: nothing left, nothing twice
    run.refresh_from_db()
    assert run.state == RetentionRun.State.DONE
    assert run.done_counts[Kind.CITIZEN_THREAD]["messages"] == 1
    assert run.done_counts[Kind.INTERNAL_THREAD]["messages"] == 1
    assert AuditEvent.objects.filter(action="retention.run_done").count() == 1


def test_attachments_go_by_their_own_rule_while_their_message_stays(org, records, archivist):
    change(Kind.CITIZEN_THREAD, org.sysadmin, period=50, unit=RetentionRule.Unit.YEARS)
    change(Kind.ATTACHMENT, org.sysadmin, period=1, unit=RetentionRule.Unit.YEARS)
    run = run_propose(proposer=None)
    assert run.review[Kind.CITIZEN_THREAD]["delete"] == 0
    assert run.review[Kind.ATTACHMENT] == {"delete": 1, "keep": {}}
    run_approve(run_id=run.pk, approver=archivist)
    run_until_done(run_id=run.pk)
    assert Message.objects.filter(pk=records.plain.pk).exists()
    assert not Attachment.objects.filter(message=records.plain).exists()
    assert run.__class__.objects.get(pk=run.pk).done_counts[Kind.ATTACHMENT] == {"attachments": 1}


def test_a_cancelled_run_removes_nothing(org, records, archivist):
    run = run_propose(proposer=org.sysadmin)
    run_cancel(run_id=run.pk, actor=archivist, reason="Fel period")
    with pytest.raises(RunRefused):
        run_approve(run_id=run.pk, approver=archivist)
    assert run_step(run_id=run.pk) is False
    assert Message.objects.filter(pk=records.plain.pk).exists()
    event = AuditEvent.objects.get(action="retention.run_cancelled")
    assert (event.actor, event.reason) == (archivist, "Fel period")


def test_only_one_run_is_open_at_a_time(org, records, archivist):
    first = run_propose(proposer=org.sysadmin)
    assert run_propose(replace=False) is None
    second = run_propose(proposer=org.sysadmin)
    first.refresh_from_db()
    assert first.state == RetentionRun.State.CANCELLED
    run_approve(run_id=second.pk, approver=archivist)
    with pytest.raises(RunRefused):
        run_propose(proposer=org.sysadmin)


def test_the_nightly_task_proposes_and_tells_the_approvers_but_removes_nothing(
    org, records, archivist, mailoutbox, django_capture_on_commit_callbacks, settings
):
    from lifemsg.celery import app

    type(org.sysadmin).objects.filter(pk=org.sysadmin.pk).update(email="gun.gran@example.invalid")
    assert settings.CELERY_BEAT_SCHEDULE["retention-propose"]["task"] == "retention.propose"
    app.loader.import_default_modules()
    with django_capture_on_commit_callbacks() as callbacks:
        run_id = app.tasks["retention.propose"].run()
    assert RetentionRun.objects.get(pk=run_id).state == RetentionRun.State.PROPOSED
    assert len(callbacks) == 1
    assert app.tasks["retention.notify_approvers"].run(run_id=run_id) == 2  # both Systemförvaltare
    [mail] = mailoutbox
    assert set(mail.to) == {"gun.gran@example.invalid", archivist.email}
    assert f"/administration/gallring/korningar/{run_id}/" in mail.body
    assert "Gammal" not in mail.body
    assert Message.objects.filter(pk=records.plain.pk).exists()
    assert app.tasks["retention.propose"].run() is None  # one waits already


def test_a_stalled_run_is_queued_again(org, records, archivist, monkeypatch):
    from retention_rules import tasks

    run = run_propose(proposer=org.sysadmin)
    run_approve(run_id=run.pk, approver=archivist)
    queued = []
    monkeypatch.setattr(tasks.run_task, "delay", lambda **kw: queued.append(kw))
    assert tasks.resume.run() == []
    RetentionRun.objects.filter(pk=run.pk).update(approved_at=timezone.now() - timedelta(hours=1))
    assert tasks.resume.run() == [run.pk]
    assert queued == [{"run_id": run.pk}]


def test_an_approval_with_the_broker_down_stands_for_the_resume_task_to_start(
    org, records, archivist, django_capture_on_commit_callbacks
):
    from unittest import mock

    run = run_propose(proposer=org.sysadmin)
    down = mock.patch(
        "retention_rules.services.current_app.send_task", side_effect=ConnectionError("broker down")
    )
    with down, django_capture_on_commit_callbacks(execute=True):
        approved = run_approve(run_id=run.pk, approver=archivist)  # no error after the commit
    approved.refresh_from_db()
    assert approved.state == RetentionRun.State.APPROVED
