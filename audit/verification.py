"""Verifying the access log's chain: from the retention anchor it starts after, to the head.

What it catches (tests/audit/test_access_log.py, test_tamper.py): an altered entry (its HMAC no
longer matches), a removed entry (a gap, or the next prev_hash does not match), a removed tail (the
head is further on), an entry re-hashed by someone without the key (audit.chain), and a retention
anchor not made by retention (unsigned, or a signature that does not match), which is how a deletion
of recent entries by someone who switched the database's guards off would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .chain import GENESIS_HASH, anchor_problem, entry_problem
from .models import AccessLogEntry, AccessLogHead, AccessLogPruning


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    first_bad_seq: int | None = None
    problem: str = ""


def chain_anchor() -> tuple[int, str]:
    """(seq, hash) the remaining chain starts after: the latest retention anchor, or the genesis."""
    pruning = AccessLogPruning.objects.order_by("-through_seq").first()
    if pruning is None:
        return 0, GENESIS_HASH
    return pruning.through_seq, pruning.through_hash


def anchors_problem() -> tuple[int | None, str]:
    """(seq, why) of the first retention anchor that retention did not make, or (None, "").
    Anchors follow each other without a gap, each signed with the access-log key."""
    expected_first = 1
    for anchor in AccessLogPruning.objects.order_by("through_seq"):
        problem = anchor_problem(anchor)
        if not problem and anchor.first_seq != expected_first:
            problem = f"retention anchor #{anchor.through_seq} does not follow the one before"
        if problem:
            return anchor.first_seq, problem
        expected_first = anchor.through_seq + 1
    return None, ""


def _rows(after_seq: int, through_seq: int | None) -> Iterator[AccessLogEntry]:
    qs = AccessLogEntry.objects.filter(seq__gt=after_seq).order_by("seq")
    if through_seq is not None:
        qs = qs.filter(seq__lte=through_seq)
    return qs.iterator(chunk_size=2000)


def access_log_verify(*, through_seq: int | None = None) -> ChainVerification:
    """Walk the chain from its anchor and report the first entry that does not fit: a gap (removed
    row), a wrong prev_hash (reordered or removed row) or a wrong entry_hash (altered or re-hashed
    row). Without `through_seq` the end is checked against the head too (removed tail)."""
    bad_anchor, problem = anchors_problem()
    if problem:
        return ChainVerification(False, 0, None, None, bad_anchor, problem)
    expected_seq, expected_prev = chain_anchor()
    checked = 0
    first_seq = None
    last_seq = None
    for entry in _rows(expected_seq, through_seq):
        expected_seq += 1
        first_seq = entry.seq if first_seq is None else first_seq
        if entry.seq != expected_seq:
            return ChainVerification(
                False, checked, first_seq, last_seq, expected_seq, f"entry #{expected_seq} is missing"
            )
        if entry.prev_hash != expected_prev:
            return ChainVerification(
                False, checked, first_seq, last_seq, entry.seq, "prev_hash does not match the entry before"
            )
        problem = entry_problem(entry)
        if problem:
            return ChainVerification(False, checked, first_seq, last_seq, entry.seq, problem)
        expected_prev = entry.entry_hash
        last_seq = entry.seq
        checked += 1
    if through_seq is None:
        head = AccessLogHead.objects.filter(id=1).first()
        head_seq, head_hash = (head.seq, head.last_hash) if head else (0, GENESIS_HASH)
        if head_seq != expected_seq or head_hash != expected_prev:
            if head_seq > expected_seq:
                bad = expected_seq + 1  # entries after the last one found are gone
            elif head_seq < expected_seq:
                bad = head_seq + 1  # entries beyond the head were never appended through the head
            else:
                bad = expected_seq  # same length, different last hash: the head was altered
            return ChainVerification(
                False,
                checked,
                first_seq,
                last_seq,
                bad,
                f"the chain ends at #{expected_seq} but the head says #{head_seq}",
            )
    return ChainVerification(True, checked, first_seq, last_seq)
