"""Reads for drafts and saved replies, scoped to the acting user."""

from __future__ import annotations

from django.db.models import CharField, DateTimeField, F, IntegerField, Value

from mailboxes.models import Thread, Unit

from .models import Draft, SavedReply


def draft_for(*, user, thread: Thread) -> Draft | None:
    """The user's own draft in the thread; nobody else's is ever read."""
    return Draft.objects.filter(user=user, thread=thread).first()


def saved_replies_for(*, user) -> list[SavedReply]:
    """The saved replies of the user's units, for the insert list (one query)."""
    return list(
        SavedReply.objects.filter(unit__memberships__user=user)
        .select_related("unit")
        .only("pk", "title", "unit__name")
        .order_by("unit__name", "title", "pk")
    )


def saved_replies_managed(*, units) -> list[SavedReply]:
    return list(
        SavedReply.objects.filter(unit__in=units).select_related("unit").order_by("unit__name", "title")
    )


_COMPOSER_COLUMNS = ("row_kind", "row_id", "row_text", "row_at", "row_unit_id", "row_unit_name")


def composer_rows(*, user, thread: Thread) -> tuple[Draft | None, list[SavedReply]]:
    """The user's own draft in the thread and the saved replies of the user's units, read together
    (one query, a UNION ALL): the thread page's query budget has room for one read of this app."""
    draft = (
        Draft.objects.filter(user=user, thread=thread)
        .annotate(
            row_kind=Value(0, output_field=IntegerField()),
            row_id=F("pk"),
            row_text=F("body"),
            row_at=F("saved_at"),
            row_unit_id=Value(None, output_field=IntegerField()),
            row_unit_name=Value("", output_field=CharField()),
        )
        .order_by()  # no ORDER BY inside a UNION's parts (SQLite refuses it); the union is ordered
        .values_list(*_COMPOSER_COLUMNS)
    )
    saved = (
        SavedReply.objects.filter(unit__memberships__user=user)
        .annotate(
            row_kind=Value(1, output_field=IntegerField()),
            row_id=F("pk"),
            row_text=F("title"),
            row_at=Value(None, output_field=DateTimeField()),
            row_unit_id=F("unit_id"),
            row_unit_name=F("unit__name"),
        )
        .order_by()  # no ORDER BY inside a UNION's parts (SQLite refuses it); the union is ordered
        .values_list(*_COMPOSER_COLUMNS)
    )
    found, replies = None, []
    for kind, pk, text, at, unit_id, unit_name in draft.union(saved, all=True).order_by(
        "row_kind", "row_unit_name", "row_text", "row_id"
    ):
        if kind == 0:
            found = Draft(pk=pk, user=user, thread=thread, body=text, saved_at=at)
        else:
            replies.append(SavedReply(pk=pk, title=text, unit=Unit(pk=unit_id, name=unit_name)))
    return found, replies
