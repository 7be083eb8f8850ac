"""Reads for the retention pages: scoped, prefetched, a fixed number of queries per page."""

from __future__ import annotations

from django.db.models import QuerySet

from mailboxes.models import Attachment, Message

from .models import MESSAGE_KINDS, Kind, RetentionItem, RetentionRule, RetentionRun


def rule_versions() -> QuerySet[RetentionRule]:
    return RetentionRule.objects.select_related("changed_by").order_by("kind", "-active_from", "-id")


def runs() -> QuerySet[RetentionRun]:
    return RetentionRun.objects.select_related("proposed_by", "approved_by", "ended_by")


def run_items(*, run: RetentionRun, kind: str = "", outcome: str = "") -> QuerySet[RetentionItem]:
    items = RetentionItem.objects.filter(run=run).order_by("kind", "object_id")
    if kind:
        items = items.filter(kind=kind)
    if outcome == "delete":
        items = items.filter(keep_reason="")
    elif outcome:
        items = items.filter(keep_reason=outcome)
    return items


def items_dated(items: list[RetentionItem]) -> list[RetentionItem]:
    """Each item with `received` (its message's time; None once removed): two queries whatever the
    page size. Only ids and times: a review list shows no content and no names."""
    message_ids = [i.object_id for i in items if i.kind in MESSAGE_KINDS]
    attachment_ids = [i.object_id for i in items if i.kind == Kind.ATTACHMENT]
    received = {
        (kind, pk): at
        for kind, rows in (
            (
                "m",
                Message.objects.filter(pk__in=message_ids).values_list("pk", "created_at")
                if message_ids
                else [],
            ),
            (
                "a",
                Attachment.objects.filter(pk__in=attachment_ids).values_list("pk", "message__created_at")
                if attachment_ids
                else [],
            ),
        )
        for pk, at in rows
    }
    for item in items:
        item.received = received.get(("a" if item.kind == Kind.ATTACHMENT else "m", item.object_id))
    return items
