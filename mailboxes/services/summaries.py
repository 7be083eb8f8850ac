"""The per-(mailbox, thread) summary (MailboxThread), kept in one place.

`summaries_apply` adds new deliveries to the summaries, in the transaction that makes them;
`summaries_expected` says what the summaries should hold from the deliveries alone, and
`summaries_recompute` writes that (retention, after deliveries went). A property test
(tests/mailboxes/test_summary_property.py) holds the two to each other after random writes.

What each field is, for one mailbox's deliveries of one thread:
- message_count, unread_count: the deliveries, and those not yet read.
- last_activity_at, latest_sender_name, latest_snippet: the newest message delivered (by the time it
  was written, then its id).
- forwarded_for_name / forwarded_by_name: the person named by the newest forward of that kind (in the
  order the deliveries were made, then by message), empty when there is none.
- counterpart_name: the other party, fixed when the summary is made: the citizen of a citizen thread;
  on an internal thread the newest message's sender, or on the sender's own copy its recipients.
- taken_* / handled_*: the thread's state in the mailbox (thread_state); a new unread delivery
  reopens a handled thread.

Lock order as everywhere in the mailbox services: message rows, then summary rows by ascending id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from ..models import Delivery, MailboxThread, Message, Thread
from . import _sql

SNIPPET_LENGTH = 140
_NAME_LENGTH = 200
_INSERT_BATCH = 1000

Key = tuple[int, int]  # (mailbox id, thread id)

# Forward reasons and the delivery's user field and summary field that name them.
_FORWARD_TAGS = (
    (Delivery.Reason.FORWARDED_ABSENCE, "forwarded_for_id", "forwarded_for_name"),
    (Delivery.Reason.FORWARDED_MANUAL, "forwarded_by_id", "forwarded_by_name"),
)


@dataclass(frozen=True)
class MessageFacts:
    """What the summaries need of a message, as plain values: at thousands of rows (a sick call)
    model instances would cost more than the query. `body` and `sender_name` are None when not yet
    read from the database."""

    pk: int
    thread_id: int
    created_at: object
    sender_id: int | None
    sender_mailbox_id: int | None
    thread_kind: str
    citizen_id: int | None
    body: str | None = None
    sender_name: str | None = None

    @classmethod
    def of(cls, message: Message) -> MessageFacts:
        """From an instance; the sender's name only if the sender is already loaded (no query)."""
        sender_name = None
        if message.sender_id is None:
            sender_name = ""
        elif Message.sender.is_cached(message):
            sender_name = display_name(message.sender)
        thread = message.thread
        return cls(
            message.pk,
            message.thread_id,
            message.created_at,
            message.sender_id,
            message.sender_mailbox_id,
            thread.kind,
            thread.citizen_id,
            message.body,
            sender_name,
        )


MESSAGE_FACT_FIELDS = (
    "pk",
    "thread_id",
    "created_at",
    "sender_id",
    "sender_mailbox_id",
    "thread__kind",
    "thread__citizen_id",
)


def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def snippet_of(body: str) -> str:
    return " ".join(body.split())[:SNIPPET_LENGTH]


def _newest(items: Iterable[Delivery], messages: dict[int, MessageFacts]) -> MessageFacts:
    return max((messages[d.message_id] for d in items), key=lambda m: (m.created_at, m.pk))


def summaries_apply(*, messages: dict[int, MessageFacts], deliveries: Sequence[Delivery]) -> None:
    """Add `deliveries` (just made, of `messages`) to their summaries, creating the missing ones, in
    a fixed number of queries however many there are."""
    if not deliveries:
        return
    groups: dict[Key, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.mailbox_id, delivery.thread_id), []).append(delivery)
    rows = _rows_locked(groups)
    missing = [key for key in groups if key not in rows]
    names = _Names(messages, deliveries, missing=missing, groups=groups)
    bodies = _Bodies(messages, newest={_newest(items, messages).pk for items in groups.values()})
    if missing:
        fresh = [_row_new(key, groups[key], messages, names) for key in missing]
        for row in fresh:
            _row_add(row, groups[row.mailbox_id, row.thread_id], messages, names, bodies)
        made = _rows_insert(fresh)
        skipped = [key for key in missing if key not in made]
        if skipped:  # created by another transaction since we looked: add to those instead
            rows.update(_rows_locked({key: groups[key] for key in skipped}))
    for key, row in rows.items():
        _row_add(row, groups[key], messages, names, bodies)
    _rows_update(sorted(rows.values(), key=lambda r: r.pk))


def _rows_locked(groups: dict[Key, list[Delivery]]) -> dict[Key, MailboxThread]:
    mailbox_ids = {mid for mid, _ in groups}
    thread_ids = {tid for _, tid in groups}
    return {
        (row.mailbox_id, row.thread_id): row
        for row in MailboxThread.objects.select_for_update()
        .filter(mailbox_id__in=mailbox_ids, thread_id__in=thread_ids)
        .order_by("id")
        if (row.mailbox_id, row.thread_id) in groups
    }


def _row_new(key: Key, items: list[Delivery], messages: dict[int, MessageFacts], names) -> MailboxThread:
    mailbox_id, thread_id = key
    newest = _newest(items, messages)
    return MailboxThread(
        mailbox_id=mailbox_id,
        thread_id=thread_id,
        last_activity_at=None,
        counterpart_name=names.counterpart(key, newest)[:_NAME_LENGTH],
    )


def _row_add(row: MailboxThread, items, messages: dict[int, MessageFacts], names, bodies) -> None:
    newest = _newest(items, messages)
    unread = sum(1 for d in items if d.read_at is None)
    row.message_count += len(items)
    row.unread_count += unread
    if row.last_activity_at is None or newest.created_at >= row.last_activity_at:
        row.last_activity_at = newest.created_at
        row.latest_sender_name = names.sender(newest)[:_NAME_LENGTH]
        row.latest_snippet = snippet_of(bodies.of(newest))
    for reason, attr, field in _FORWARD_TAGS:
        tagged = [d for d in items if d.reason == reason and getattr(d, attr)]
        if tagged:
            last = max(tagged, key=lambda d: (messages[d.message_id].created_at, d.message_id))
            setattr(row, field, names.user(getattr(last, attr))[:_NAME_LENGTH])
    if unread:
        # A new unread message reopens the thread in that mailbox.
        row.handled_at = None
        row.handled_by_id = None


def _rows_insert(rows: list[MailboxThread]) -> set[Key]:
    made: set[Key] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = rows[start : start + _INSERT_BATCH]
            params = [v for row in batch for v in _sql.summary_values(row, with_key=True)]
            cursor.execute(_sql.summary_insert_sql(len(batch)), params)
            made.update((mid, tid) for mid, tid in cursor.fetchall())
    return made


def _rows_update(rows: list[MailboxThread]) -> None:
    if not rows:
        return
    params = [(*_sql.summary_values(row, with_key=False), row.pk) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(_sql.summary_update_sql(), params)


class _Names:
    """Display names for a batch, read in one query when first asked: every sender, citizen and
    forwarding person the batch's summaries may name and the facts did not already carry."""

    def __init__(self, messages, deliveries, *, missing: list[Key], groups: dict[Key, list[Delivery]]):
        self._messages = messages
        self._wanted = {m.sender_id for m in messages.values() if m.sender_id and m.sender_name is None}
        self._wanted |= {getattr(d, attr) for d in deliveries for _r, attr, _f in _FORWARD_TAGS}
        own_copies = []
        for key in missing:
            newest = _newest(groups[key], messages)
            if newest.thread_kind == Thread.Kind.CITIZEN:
                self._wanted.add(newest.citizen_id)
            elif newest.sender_mailbox_id == key[0]:
                own_copies.append(newest.pk)
        self._wanted.discard(None)
        self._recipients = _recipient_names(own_copies)
        self._names: dict[int, str] | None = None

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if self._names is None:
            users = get_user_model().objects.filter(pk__in=self._wanted) if self._wanted else ()
            self._names = {u.pk: display_name(u) for u in users}
        return self._names.get(user_id, "")

    def sender(self, message: MessageFacts) -> str:
        return message.sender_name if message.sender_name is not None else self.user(message.sender_id)

    def counterpart(self, key: Key, message: MessageFacts) -> str:
        if message.thread_kind == Thread.Kind.CITIZEN:
            return self.user(message.citizen_id)
        if message.sender_mailbox_id == key[0]:
            return self._recipients.get(message.pk, "")
        return self.sender(message)


class _Bodies:
    """Message bodies for the snippets, read when first asked in one query for every message that
    may need one (the newest of each summary's new deliveries) and the facts did not carry."""

    def __init__(self, messages: dict[int, MessageFacts], *, newest: set[int]):
        self._known = {pk: m.body for pk, m in messages.items() if m.body is not None}
        self._wanted = newest - set(self._known)

    def of(self, message: MessageFacts) -> str:
        if message.pk not in self._known:
            self._known.update(Message.objects.filter(pk__in=self._wanted).values_list("pk", "body"))
        return self._known[message.pk]


def _recipient_names(message_ids: list[int]) -> dict[int, str]:
    """{message id: "Recipient A, Recipient B"}, group mailboxes first, then by name."""
    if not message_ids:
        return {}
    found: dict[int, list[str]] = {}
    for message_id, name in (
        Message.recipients.through.objects.filter(message_id__in=message_ids)
        .order_by("message_id", "-mailbox__kind", "mailbox__name")
        .values_list("message_id", "mailbox__name")
    ):
        found.setdefault(message_id, []).append(name)
    return {mid: ", ".join(names) for mid, names in found.items()}


# --- from scratch ---------------------------------------------------------------------------------

EXPECTED_FIELDS = (
    "message_count",
    "unread_count",
    "last_activity_at",
    "latest_sender_name",
    "latest_snippet",
    "forwarded_for_name",
    "forwarded_by_name",
)


def summaries_expected(keys: Iterable[Key]) -> dict[Key, dict[str, object]]:
    """What the summaries of `keys` should hold (EXPECTED_FIELDS), from the deliveries alone; a key
    without deliveries is left out. Reads every delivery of those pairs once (retention's batches
    and the tests: not a hot path), then the newest messages and the names."""
    keys = set(keys)
    if not keys:
        return {}
    counts: dict[Key, list[int]] = {}
    newest: dict[Key, tuple] = {}
    tags: dict[tuple[Key, str], tuple] = {}
    for mid, tid, read_at, reason, for_id, by_id, made_at, message_id, written_at in Delivery.objects.filter(
        mailbox_id__in={k[0] for k in keys}, thread_id__in={k[1] for k in keys}
    ).values_list(
        "mailbox_id", "thread_id", "read_at", "reason", "forwarded_for_id", "forwarded_by_id",
        "created_at", "message_id", "message__created_at",
    ):  # fmt: skip
        key = (mid, tid)
        if key not in keys:
            continue
        count = counts.setdefault(key, [0, 0])
        count[0] += 1
        count[1] += read_at is None
        newest[key] = max(newest.get(key, (written_at, message_id)), (written_at, message_id))
        for tag_reason, attr, field in _FORWARD_TAGS:
            user_id = for_id if attr == "forwarded_for_id" else by_id
            if reason == tag_reason and user_id:
                order = (made_at, written_at, message_id)
                if (key, field) not in tags or order > tags[key, field][0]:
                    tags[key, field] = (order, user_id)
    latest = {
        pk: (sender_id, body)
        for pk, sender_id, body in Message.objects.filter(pk__in={n[1] for n in newest.values()}).values_list(
            "pk", "sender_id", "body"
        )
    }
    user_ids = {sender for sender, _body in latest.values() if sender} | {t[1] for t in tags.values()}
    users = get_user_model().objects.filter(pk__in=user_ids) if user_ids else ()
    names = {u.pk: display_name(u) for u in users}
    expected = {}
    for key, (message_count, unread_count) in counts.items():
        written_at, message_id = newest[key]
        sender_id, body = latest[message_id]
        expected[key] = {
            "message_count": message_count,
            "unread_count": unread_count,
            "last_activity_at": written_at,
            "latest_sender_name": names.get(sender_id, "")[:_NAME_LENGTH],
            "latest_snippet": snippet_of(body),
            **{field: names.get(tags[key, field][1], "")[:_NAME_LENGTH] if (key, field) in tags else ""
               for _r, _a, field in _FORWARD_TAGS},
        }  # fmt: skip
    return expected


def summaries_recompute(rows: Sequence[MailboxThread]) -> tuple[int, int]:
    """Set each of `rows` (summaries the caller has locked) to what its deliveries make it
    (summaries_expected), and delete the ones left without deliveries. counterpart_name and the
    thread's state are not about single messages and stay. Returns (updated, deleted)."""
    if not rows:
        return 0, 0
    expected = summaries_expected((row.mailbox_id, row.thread_id) for row in rows)
    gone = [row.pk for row in rows if (row.mailbox_id, row.thread_id) not in expected]
    kept = [row for row in rows if (row.mailbox_id, row.thread_id) in expected]
    if gone:
        MailboxThread.objects.filter(pk__in=gone).delete()
    for row in kept:
        for field, value in expected[row.mailbox_id, row.thread_id].items():
            setattr(row, field, value)
    if kept:
        MailboxThread.objects.bulk_update(kept, list(EXPECTED_FIELDS), batch_size=500)
    return len(kept), len(gone)


def summary_mismatches(keys: Iterable[Key] | None = None) -> dict[Key, dict[str, tuple]]:
    """{key: {field: (stored, expected)}} for every summary that differs from a recompute, and every
    pair with deliveries but no summary (or a summary but no deliveries). All pairs when `keys` is
    None. For tests and for an operator's check; reads everything it compares."""
    stored_rows = MailboxThread.objects.all() if keys is None else _rows_of(keys)
    stored = {(r.mailbox_id, r.thread_id): r for r in stored_rows}
    if keys is None:
        keys = set(stored) | set(
            Delivery.objects.order_by().values_list("mailbox_id", "thread_id").distinct()
        )
    expected = summaries_expected(keys)
    found: dict[Key, dict[str, tuple]] = {}
    for key in set(stored) | set(expected):
        row, want = stored.get(key), expected.get(key)
        if row is None or want is None:
            found[key] = {"row": (row is not None, want is not None)}
            continue
        diff = {f: (getattr(row, f), v) for f, v in want.items() if getattr(row, f) != v}
        if diff:
            found[key] = diff
    return found


def _rows_of(keys: Iterable[Key]) -> list[MailboxThread]:
    query = Q()
    for mailbox_id, thread_id in keys:
        query |= Q(mailbox_id=mailbox_id, thread_id=thread_id)
    return list(MailboxThread.objects.filter(query)) if query else []


__all__ = [
    "EXPECTED_FIELDS",
    "MESSAGE_FACT_FIELDS",
    "SNIPPET_LENGTH",
    "MessageFacts",
    "display_name",
    "summaries_apply",
    "summaries_expected",
    "summaries_recompute",
    "summary_mismatches",
]
