"""What the thread page's reply and send-to-citizen forms get from this app: the author's own draft
(restored into the form), the saved replies of the author's units, and where to autosave and insert.
Called by mailboxes.views.thread for a form the reader may send with."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from mailboxes.permissions import ThreadAccess

from . import selectors


def composer_urls(access: ThreadAccess) -> dict[str, str]:
    if access.mailbox is not None:
        args = [access.mailbox.pk, access.thread.pk]
        return {
            "draft_url": reverse("replies:draft", args=args),
            "insert_url": reverse("replies:insert", args=args),
        }
    args = [access.case.pk]
    return {
        "draft_url": reverse("replies:case_draft", args=args),
        "insert_url": reverse("replies:case_insert", args=args),
    }


def field_name(access: ThreadAccess) -> str:
    """The form's body field as posted (the forms' prefixes: mailboxes.views.thread)."""
    return "citizen-body" if access.thread.is_citizen else "reply-body"


def composer_context(user, access: ThreadAccess) -> dict:
    """One query: the draft and the saved replies (selectors.composer_rows)."""
    draft, saved_replies = selectors.composer_rows(user=user, thread=access.thread)
    return {
        "draft": draft,
        "draft_initial": {"body": draft.body} if draft else None,
        "saved_replies": saved_replies,
        "saved_reply_units_many": len({s.unit_id for s in saved_replies}) > 1,
        "body_field": field_name(access),
        # When the page was shown: an autosave from it after the author's next message is refused.
        "draft_since": timezone.now().isoformat(),
        **composer_urls(access),
    }
