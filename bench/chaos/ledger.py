"""What the database says about the messages a fault's citizens posted: stored, routed, duplicated,
left only with an absent handler, out-of-office replies given twice. Plain SQL, read after the fault
(the guarantees of DESIGN.md, counted from outside)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import OperationalError, connection, connections

from .citizens import TOKEN, Post


def query(sql: str, params=()) -> list[tuple]:
    """Run a read, waiting through a database that is (still) away."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        except OperationalError:
            connections.close_all()
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def citizen_messages(since_id: int) -> dict[str, list[tuple[int, datetime, datetime | None]]]:
    """token -> [(message id, created_at, routed_at)] for the citizens' messages after `since_id`."""
    found: dict[str, list] = {}
    rows = query(
        "SELECT m.id, m.body, m.created_at, m.routed_at FROM mailboxes_message m "
        "JOIN accounts_user u ON u.id = m.sender_id WHERE m.id > %s AND u.kind = 'citizen'",
        [since_id],
    )
    for message_id, body, created_at, routed_at in rows:
        match = TOKEN.search(body)
        if match:
            found.setdefault(match.group(1), []).append((message_id, created_at, routed_at))
    return found


def undelivered(message_ids: list[int]) -> list[int]:
    """Messages without a single delivery (nobody can act on them)."""
    if not message_ids:
        return []
    return [
        r[0]
        for r in query(
            "SELECT m.id FROM mailboxes_message m WHERE m.id = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM mailboxes_delivery d WHERE d.message_id = m.id)",
            [message_ids],
        )
    ]


def wait_routed(since_id: int, cap_s: float) -> bool:
    """Wait until every citizen message stored after `since_id` has a delivery (at most `cap_s`)."""
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        ids = [row[0] for rows in citizen_messages(since_id).values() for row in rows]
        if not undelivered(ids):
            return True
        time.sleep(1)
    return False


def only_with_absent(message_ids: list[int]) -> int:
    """Messages whose handler was away with forwarding when they were written or routed, delivered
    to the handler's own mailbox and nowhere else (guarantee 2)."""
    if not message_ids:
        return 0
    # Away at a moment t: a.starts_at <= t, and neither ends_at nor ended_at at or before t.
    sql = """
        SELECT count(*) FROM mailboxes_message m
        JOIN eservices_case c ON c.thread_id = m.thread_id
        JOIN mailboxes_mailbox pm ON pm.owner_id = c.handler_id AND pm.kind = 'personal'
        WHERE m.id = ANY(%s)
        AND EXISTS (SELECT 1 FROM mailboxes_delivery d WHERE d.message_id = m.id AND d.mailbox_id = pm.id)
        AND NOT EXISTS (SELECT FROM mailboxes_delivery o WHERE o.message_id = m.id AND o.mailbox_id != pm.id)
        AND EXISTS (
            SELECT 1 FROM absence_absence a WHERE a.handler_id = c.handler_id AND (
                (a.starts_at <= m.created_at AND (a.ends_at IS NULL OR a.ends_at > m.created_at)
                 AND (a.ended_at IS NULL OR a.ended_at > m.created_at))
                OR (a.starts_at <= m.routed_at AND (a.ends_at IS NULL OR a.ends_at > m.routed_at)
                 AND (a.ended_at IS NULL OR a.ended_at > m.routed_at))))
    """
    return query(sql, [message_ids])[0][0]


def double_deliveries(message_ids: list[int]) -> int:
    """(message, mailbox) pairs delivered more than once (a unique key forbids it; counted anyway)."""
    if not message_ids:
        return 0
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM mailboxes_delivery WHERE message_id = ANY(%s) "
        "GROUP BY message_id, mailbox_id HAVING count(*) > 1) x"
    )
    return query(sql, [message_ids])[0][0]


def double_auto_replies(start: float, end: float) -> int:
    """Automatic replies written in [start, end] beyond one per thread and absence."""
    window = [datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)]
    per_thread = query(
        "SELECT m.thread_id, count(*) FROM mailboxes_message m WHERE m.kind = 'automatic' "
        "AND m.created_at BETWEEN %s AND %s GROUP BY m.thread_id",
        window,
    )
    absences = dict(
        query(
            "SELECT r.thread_id, count(DISTINCT r.absence_id) FROM absence_autoreply r "
            "JOIN mailboxes_message m ON m.id = r.message_id WHERE m.created_at BETWEEN %s AND %s "
            "GROUP BY r.thread_id",
            window,
        )
    )
    return sum(max(0, n - absences.get(thread_id, 0)) for thread_id, n in per_thread)


def written_away_routed_after_end(message_ids: list[int]) -> int:
    """Messages written while their handler's absence was active and routed after it had ended:
    the case that needs routing by the time of writing."""
    if not message_ids:
        return 0
    sql = """
        SELECT count(*) FROM mailboxes_message m JOIN eservices_case c ON c.thread_id = m.thread_id
        JOIN absence_absence a ON a.handler_id = c.handler_id
        WHERE m.id = ANY(%s) AND a.starts_at <= m.created_at
        AND least(a.ends_at, a.ended_at) > m.created_at AND least(a.ends_at, a.ended_at) <= m.routed_at
    """
    return query(sql, [message_ids])[0][0]


def exercised(message_ids: list[int], start: float, end: float) -> tuple[int, int]:
    """How much forwarding and out-of-office replying the fault saw (so a 0 above means something)."""
    window = [datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)]
    forwarded = query(
        "SELECT count(*) FROM mailboxes_delivery WHERE message_id = ANY(%s) AND reason = 'forwarded_absence'",
        [message_ids],
    )[0][0]
    replies = query(
        "SELECT count(*) FROM mailboxes_message WHERE kind = 'automatic' AND created_at BETWEEN %s AND %s",
        window,
    )[0][0]
    return forwarded, replies


def max_message_id() -> int:
    return query("SELECT coalesce(max(id), 0) FROM mailboxes_message")[0][0]


@dataclass
class Figures:
    sent: int = 0
    accepted: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    unrouted: int = 0
    only_absent: int = 0
    double_replies: int = 0
    routed_after_s: float | None = None  # None: not everything routed within the wait
    restarts_expected: int = 0
    restarts_unexpected: int = 0
    # Stored while the absence that ended mid-fault was active, routed after its end (issue 18.3).
    written_away_routed_back: int = 0
    forwarded: int = 0  # copies forwarded because the handler is away
    auto_replies: int = 0  # out-of-office replies written during the fault


def count(posts: list[Post], since_id: int, *, start: float, end: float, routed_from: float) -> Figures:
    """The figures for one fault's posts (after its wait for routing)."""
    stored = citizen_messages(since_id)
    mine = {p.token: stored.get(p.token, []) for p in posts}
    ids = [row[0] for rows in mine.values() for row in rows]
    figures = Figures(sent=len(posts), accepted=sum(p.accepted for p in posts), stored=len(ids))
    figures.lost = sum(1 for p in posts if p.accepted and not mine[p.token])
    tokens_twice = sum(len(rows) - 1 for rows in mine.values() if len(rows) > 1)
    figures.duplicated = tokens_twice + double_deliveries(ids)
    left = set(undelivered(ids))
    figures.unrouted = len(left)
    figures.only_absent = only_with_absent(ids)
    figures.double_replies = double_auto_replies(start, end)
    figures.written_away_routed_back = written_away_routed_after_end(ids)
    figures.forwarded, figures.auto_replies = exercised(ids, start, end)
    if not left:
        # Messages written up to the moment the clock starts; what came after is counted by `left`.
        routed = [
            routed_at.timestamp()
            for rows in mine.values()
            for _, created_at, routed_at in rows
            if created_at.timestamp() <= routed_from and routed_at is not None
        ]
        figures.routed_after_s = round(max(0.0, max(routed, default=routed_from) - routed_from), 1)
    return figures


def final_lost(posts_by_fault: dict[str, list[Post]], since_id: int) -> Counter:
    """At the end of the run: per fault, accepted messages still missing or delivered nowhere."""
    stored = citizen_messages(since_id)
    lost: Counter = Counter()
    for fault, posts in posts_by_fault.items():
        ids = []
        for post in posts:
            rows = stored.get(post.token, [])
            if post.accepted and not rows:
                lost[fault] += 1
            ids += [row[0] for row in rows]
        lost[fault] += len(undelivered(ids))
    return lost
