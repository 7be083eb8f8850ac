"""Every write to drafts and saved replies. A draft's text is never logged, audited or cached; a
saved reply's change is an audit event (who changed the unit's texts), without the text itself."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit.services import audit_event_record
from mailboxes.models import Message, Thread, Unit

from .models import Draft, SavedReply

# The placeholders a saved reply may hold, and nothing else: the sender's name and the unit's name.
# Nothing from the citizen or the case, so a saved reply cannot put one citizen's data in front of
# another.
PLACEHOLDERS = ("{handläggare}", "{enhet}")


class DraftStale(Exception):
    """The page the text was written on is older than the author's last message in the thread."""


def draft_save(
    *, user, thread: Thread, body: str, since: dt.datetime | None = None, now: dt.datetime | None = None
) -> Draft | None:
    """Keep what `user` has written in `thread` (one draft per thread and author); empty text removes
    the draft. Returns the draft, or None when there is none.

    `since` is when the page was shown. An autosave may still be under way when Send is pressed; if
    it lands after the sending transaction removed the draft, it would bring back text already sent.
    So a save from a page older than the author's last message in the thread is refused (DraftStale)."""
    if (
        since is not None
        and Message.objects.filter(thread=thread, sender=user, created_at__gt=since).exists()
    ):
        raise DraftStale
    if not body.strip():
        draft_discard(user=user, thread=thread)
        return None
    draft, _created = Draft.objects.update_or_create(
        user=user, thread=thread, defaults={"body": body, "saved_at": now or timezone.now()}
    )
    return draft


def draft_discard(*, user, thread: Thread) -> None:
    """Called in the sending transaction: the sent message replaces the draft."""
    Draft.objects.filter(user=user, thread=thread).delete()


def drafts_expire(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Remove drafts last saved longer ago than `older_than`. Returns how many went."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _per_model = Draft.objects.filter(saved_at__lt=cutoff).delete()
    return deleted


def saved_reply_text(saved: SavedReply, *, sender) -> str:
    """The text with its placeholders filled in on the server: {handläggare} is the sender's name,
    {enhet} the unit's. Any other brace is left as written."""
    return saved.body.replace("{handläggare}", sender.display_name).replace("{enhet}", saved.unit.name)


def _audit(*, actor, action: str, saved: SavedReply, before=None, after=None) -> None:
    audit_event_record(
        actor=actor,
        action=action,
        target=saved,
        target_repr=f"{saved.unit.name}: {saved.title}",
        before=before,
        after=after,
    )


@transaction.atomic
def saved_reply_create(*, unit: Unit, title: str, body: str, actor) -> SavedReply:
    now = timezone.now()
    saved = SavedReply.objects.create(
        unit=unit, title=title, body=body, created_at=now, updated_at=now, updated_by=actor
    )
    _audit(actor=actor, action="saved_reply.create", saved=saved, after={"title": title})
    return saved


@transaction.atomic
def saved_reply_update(*, saved: SavedReply, title: str, body: str, actor) -> SavedReply:
    before = {"title": saved.title}
    saved.title, saved.body, saved.updated_at, saved.updated_by = title, body, timezone.now(), actor
    saved.save(update_fields=["title", "body", "updated_at", "updated_by"])
    _audit(actor=actor, action="saved_reply.update", saved=saved, before=before, after={"title": title})
    return saved


@transaction.atomic
def saved_reply_delete(*, saved: SavedReply, actor) -> None:
    _audit(actor=actor, action="saved_reply.delete", saved=saved, before={"title": saved.title})
    saved.delete()
