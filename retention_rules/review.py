"""A run's review list: what the rules in effect would remove now, and what they keep and why.

Messages and attachments are listed one by one (RetentionItem, filled by one INSERT … SELECT per
kind, so a first run over years of records costs a statement, not a loop); the run later removes
exactly the listed ids (retention_rules.execution), so what runs is what was reviewed, however many
records grow old meanwhile. The access log is listed as the prefix of its chain the run may remove
(first_seq..through_seq): its entries go only as a prefix, never one by one (audit.retention). The
change log is never removed (the database keeps it append-only).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import CharField, Count, Exists, OuterRef, QuerySet, Value, When
from django.db.models.functions import Substr

from audit.models import AccessLogHead
from audit.retention import access_log_prune_preview
from eservices.models import Case
from mailboxes.models import Attachment, Message, Thread

from .models import MESSAGE_KINDS, KeepReason, Kind, RetentionItem, RetentionRule, RetentionRun
from .rules import RESEARCH_DAYS, cutoff

THREAD_KIND = {Kind.CITIZEN_THREAD: Thread.Kind.CITIZEN, Kind.INTERNAL_THREAD: Thread.Kind.INTERNAL}


def review_build(*, run: RetentionRun, rules: dict[str, RetentionRule], now: dt.datetime) -> None:
    """Fill the run's items, criteria and review counts from `rules`. In the caller's transaction."""
    criteria: dict[str, dict] = {}
    for kind in Kind.values:
        rule = rules.get(kind)
        cut = cutoff(rule, now=now) if rule else None
        criteria[kind] = {
            "rule": rule.pk if rule else None,
            "period": rule.period_text if rule else "",
            "cutoff": cut.isoformat() if cut else None,
        }
        if cut is None:
            continue
        if kind in MESSAGE_KINDS:
            _insert(run, kind, _messages(kind, rule, cut))
        elif kind == Kind.ATTACHMENT:
            _insert(run, kind, _attachments(run, rule, cut))
        elif kind == Kind.ACCESS_LOG:
            criteria[kind].update(_access_log(now=now, cut=cut))
    run.criteria = criteria
    run.review = _counts(run)
    run.save(update_fields=["criteria", "review"])


def _keep_reason(rule: RetentionRule, *, thread_path: str) -> CaseWhen:
    """Why a record of a citizen thread past its period stays: the research sample (when the rule
    keeps it), then a case still open. `thread_path` leads from the record to its thread id."""
    whens = []
    if rule.research_sample:
        whens.append(When(Exists(_research_threads(thread_path)), then=Value(KeepReason.RESEARCH_SAMPLE)))
    open_case = Case.objects.filter(thread_id=OuterRef(thread_path), status=Case.Status.OPEN)
    whens.append(When(Exists(open_case), then=Value(KeepReason.OPEN_CASE)))
    return CaseWhen(*whens, default=Value(""), output_field=CharField())


def _research_threads(thread_path: str) -> QuerySet:
    """The thread, if its citizen's personnummer (or coordination number) has a research day."""
    return Thread.objects.annotate(_day=Substr("citizen__citizen__personnummer", 7, 2)).filter(
        pk=OuterRef(thread_path), _day__in=RESEARCH_DAYS
    )


def _messages(kind: str, rule: RetentionRule, cut: dt.datetime) -> QuerySet:
    messages = Message.objects.filter(created_at__lt=cut, thread__kind=THREAD_KIND[kind])
    if kind == Kind.CITIZEN_THREAD:
        return messages.annotate(_keep=_keep_reason(rule, thread_path="thread_id"))
    return messages.annotate(_keep=Value("", output_field=CharField()))


def _attachments(run: RetentionRun, rule: RetentionRule, cut: dt.datetime) -> QuerySet:
    """Attachments past their own period whose message stays (those of a listed message go with it)."""
    going = RetentionItem.objects.filter(run=run, kind__in=MESSAGE_KINDS, keep_reason="")
    return (
        Attachment.objects.filter(message__created_at__lt=cut)
        .exclude(message_id__in=going.values("object_id"))
        .annotate(_keep=_keep_reason(rule, thread_path="message__thread_id"))
    )


def _insert(run: RetentionRun, kind: str, candidates: QuerySet) -> None:
    select = (
        candidates.order_by()
        .annotate(_run=Value(run.pk), _kind=Value(kind, output_field=CharField()), _done=Value(False))
        .values_list("_run", "_kind", "pk", "_keep", "_done")
    )
    sql, params = select.query.sql_with_params()
    table = RetentionItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (run_id, kind, object_id, keep_reason, done) {sql}", params)


def _access_log(*, now: dt.datetime, cut: dt.datetime) -> dict:
    days = max((now - cut).days, 0)
    preview = access_log_prune_preview(now=now, days=days)
    head = AccessLogHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    return {
        "days": days,
        # The database's own period may be longer than the rule's (audit_retention_floor).
        "effective_cutoff": preview.cutoff.isoformat(),
        "first_seq": preview.first_seq,
        "through_seq": preview.through_seq,
        "delete": preview.deleted,
        "head_seq": head,
    }


def _counts(run: RetentionRun) -> dict[str, dict]:
    review: dict[str, dict] = {kind: {"delete": 0, "keep": {}} for kind in Kind.values}
    rows = RetentionItem.objects.filter(run=run).values_list("kind", "keep_reason").annotate(n=Count("id"))
    for kind, reason, n in rows.order_by():
        if reason:
            review[kind]["keep"][reason] = n
        else:
            review[kind]["delete"] = n
    log = run.criteria.get(Kind.ACCESS_LOG, {})
    review[Kind.ACCESS_LOG]["delete"] = log.get("delete") or 0
    return review
