"""Reads for drafts and saved replies, scoped to the acting user."""

from __future__ import annotations

from mailboxes.models import Thread

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
