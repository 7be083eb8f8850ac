"""Every write of the retention_rules app: a rule's new version, and a run's steps up to its approval —
proposed (the review list), approved by a second person, cancelled, ended. Each step is in the
change log (AuditEvent) with the run's counts per kind. Removal itself: retention_rules.execution."""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.backends import MODEL_BACKEND
from audit.services import audit_event_record

from .models import RetentionRule, RetentionRun
from .review import review_build
from .rules import rule_ids_in_effect, rule_validate, rules_in_effect

logger = logging.getLogger(__name__)

MANAGE = "retention_rules.manage_retention"
APPROVE = "retention_rules.approve_retention"
OPEN_STATES = (RetentionRun.State.PROPOSED, RetentionRun.State.APPROVED, RetentionRun.State.RUNNING)


class RunRefused(ValidationError):
    """A step the run's state or the four-eyes rule does not allow; the message is for the user."""


@transaction.atomic
def rule_change(
    *,
    kind: str,
    actor,
    period: int | None,
    unit: str,
    decision: str,
    research_sample: bool,
    active_from: dt.date,
    reason: str = "",
) -> RetentionRule:
    """Add a version of the rule for `kind` (the earlier ones stay as its history) and record it in
    the change log. A run waiting for approval was listed under the old rules: it is cancelled; one
    under way stops at its next batch (retention_rules.execution)."""
    rule_validate(kind=kind, period=period, research_sample=research_sample)
    before = rules_in_effect().get(kind)
    rule = RetentionRule.objects.create(
        kind=kind,
        period=period,
        unit=unit,
        decision=decision,
        research_sample=research_sample,
        active_from=active_from,
        changed_by=actor,
        reason=reason,
    )
    audit_event_record(
        actor=actor,
        action="retention.rule_change",
        target=rule,
        target_repr=str(rule.get_kind_display()),
        before=_rule_state(before) if before else None,
        after=_rule_state(rule),
        reason=reason,
    )
    waiting = RetentionRun.objects.select_for_update().filter(
        state__in=[RetentionRun.State.PROPOSED, RetentionRun.State.APPROVED]
    )
    for run in waiting.order_by("pk"):
        run_end(run=run, state=RetentionRun.State.CANCELLED, actor=actor, reason="rules_changed")
    return rule


def _rule_state(rule: RetentionRule) -> dict:
    return {
        "period": rule.period_text,
        "decision": rule.decision,
        "research_sample": rule.research_sample,
        "active_from": rule.active_from.isoformat(),
    }


@transaction.atomic
def run_propose(
    *, proposer=None, now: dt.datetime | None = None, replace: bool = True
) -> RetentionRun | None:
    """Make a run's review list from the rules in effect, record it, and tell the approvers (on
    commit). A run still waiting for approval is replaced (`replace`) or kept (None is returned);
    while one is approved or under way, no other is proposed."""
    now = now or timezone.now()
    for run in RetentionRun.objects.select_for_update().filter(state__in=OPEN_STATES).order_by("pk"):
        if run.state != RetentionRun.State.PROPOSED:
            raise RunRefused(_("A retention run is already approved or under way."), code="in_progress")
        if not replace:
            return None
        run_end(run=run, state=RetentionRun.State.CANCELLED, actor=proposer, reason="replaced")
    rules = rules_in_effect(today=timezone.localdate(now))
    run = RetentionRun.objects.create(
        proposed_by=proposer, proposed_at=now, rules={kind: rule.pk for kind, rule in rules.items()}
    )
    review_build(run=run, rules=rules, now=now)
    audit_event_record(actor=proposer, action="retention.run_propose", target=run, after=_review_counts(run))
    _enqueue_on_commit("retention.notify_approvers", run_id=run.pk)
    return run


@transaction.atomic
def run_approve(*, run_id: int, approver) -> RetentionRun:
    """Approve the review list as it stands. Four eyes: not by whoever proposed the run nor by whoever
    set a rule it follows, and only while the rules are those it was listed under."""
    if not approver.has_perm(APPROVE):
        raise PermissionDenied
    run = RetentionRun.objects.select_for_update().get(pk=run_id)
    refusal = run_approval_refusal(run=run, approver=approver)
    if refusal is not None:
        raise refusal
    run.state, run.approved_by, run.approved_at = RetentionRun.State.APPROVED, approver, timezone.now()
    run.save(update_fields=["state", "approved_by", "approved_at"])
    audit_event_record(actor=approver, action="retention.run_approve", target=run, after=_review_counts(run))
    _enqueue_on_commit("retention.run", run_id=run.pk)
    return run


def run_approval_refusal(*, run: RetentionRun, approver) -> RunRefused | None:
    """Why `approver` may not approve `run` now (None: they may). The run page shows it in place of
    the button; run_approve raises it."""
    if run.state != RetentionRun.State.PROPOSED:
        return RunRefused(_("This run is no longer waiting for approval."), code="state")
    if run.proposed_by_id == approver.pk:
        return RunRefused(_("You proposed this run: someone else must approve it."), code="four_eyes")
    if RetentionRule.objects.filter(pk__in=run.rules.values(), changed_by=approver).exists():
        return RunRefused(
            _("You set a rule this run follows: someone else must approve it."), code="four_eyes"
        )
    if rule_ids_in_effect() != run.rules:
        return RunRefused(
            _("The rules have changed since this list was made. Propose a new run."), code="rules_changed"
        )
    return None


@transaction.atomic
def run_cancel(*, run_id: int, actor, reason: str = "") -> RetentionRun:
    """Cancel a run waiting or under way; batches already committed stay done (and recorded)."""
    if not (actor.has_perm(MANAGE) or actor.has_perm(APPROVE)):
        raise PermissionDenied
    run = RetentionRun.objects.select_for_update().get(pk=run_id)
    if run.state not in OPEN_STATES:
        raise RunRefused(_("This run has already ended."), code="state")
    return run_end(run=run, state=RetentionRun.State.CANCELLED, actor=actor, reason=reason or "cancelled")


def run_end(*, run: RetentionRun, state: str, actor=None, reason: str = "") -> RetentionRun:
    """End a run (done, cancelled or failed) with its counts in the change log. `run` is locked by
    the caller."""
    run.state, run.finished_at, run.end_reason = state, timezone.now(), reason
    run.ended_by = actor if getattr(actor, "pk", None) else None
    run.save(
        update_fields=[
            "state",
            "finished_at",
            "end_reason",
            "ended_by",
            "started_at",
            "progress_at",
            "done_counts",
        ]
    )
    audit_event_record(
        actor=actor,
        action=f"retention.run_{state}",
        target=run,
        after={**_review_counts(run), "removed": run.done_counts},
        reason=reason,
    )
    return run


def _enqueue_on_commit(task: str, **kwargs) -> None:
    # By name: retention_rules.tasks imports this module.
    def _send() -> None:
        try:
            current_app.send_task(task, kwargs=kwargs)
        except Exception:  # broker unreachable: what was committed stands; retention.resume restarts runs
            logger.warning("could not queue %s %s; retention.resume takes it up", task, kwargs)

    transaction.on_commit(_send)


def _review_counts(run: RetentionRun) -> dict:
    return {"review": run.review, "rules": run.rules}


def approvers(*, exclude=None) -> list:
    """Active staff who may approve a run (by role or directly), with an e-mail address, `exclude`
    left out."""
    User = get_user_model()
    users = User.objects.with_perm(APPROVE, backend=MODEL_BACKEND).filter(
        kind=User.Kind.STAFF, is_active=True
    )
    if getattr(exclude, "pk", None):
        users = users.exclude(pk=exclude.pk)
    return list(users.exclude(email="").order_by("pk"))
