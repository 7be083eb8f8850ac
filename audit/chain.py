"""The access log's keyed hash chain: which key signs an entry, and how an entry and a retention
anchor are signed.

Each entry's `entry_hash` is HMAC-SHA256(key, prev_hash + canonical fields) with ACCESS_LOG_HMAC_KEY,
a key that lives in the application's environment and never in the database: whoever can write the
database but does not have the key cannot re-hash an altered or shortened chain so that it verifies.
The entry names its key by `hmac_key_id` (a fingerprint, never the key), so the key can be rotated:
the new key signs from then on and the old one, kept in ACCESS_LOG_HMAC_OLD_KEYS, still verifies the
entries it signed (README: "The access log's key").

Entries written before keys existed (plain SHA-256, `hmac_key_id` NULL) verify only up to
ACCESS_LOG_UNKEYED_THROUGH_SEQ, which the operator pins once at the upgrade: an unkeyed entry after it
is a forgery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENESIS_HASH = "0" * 64


def key_fingerprint(key: bytes) -> str:
    # A hash of the key under its own label: it names the key without helping to guess it.
    return hashlib.sha256(b"lifemsg-access-log-key-id:" + key).hexdigest()[:16]


@cache
def _keys(current: str, old: tuple[str, ...]) -> tuple[str, dict[str, bytes]]:
    if not current:
        raise ImproperlyConfigured("ACCESS_LOG_HMAC_KEY must be set: it signs the access log.")
    keys = {}
    for raw in (current, *old):
        key = raw.encode()
        keys[key_fingerprint(key)] = key
    return key_fingerprint(current.encode()), keys


@cache
def _signer(key: str):
    # Every page that shows citizen data signs an entry: the key is set up once, then copied.
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def signing_key() -> tuple[str, bytes]:
    """(key id, key) that signs new entries and anchors."""
    key_id, keys = _keys(settings.ACCESS_LOG_HMAC_KEY, tuple(settings.ACCESS_LOG_HMAC_OLD_KEYS))
    return key_id, keys[key_id]


def verifying_key(key_id: str) -> bytes | None:
    """The key with this id (current or old), or None when this server does not have it."""
    _current, keys = _keys(settings.ACCESS_LOG_HMAC_KEY, tuple(settings.ACCESS_LOG_HMAC_OLD_KEYS))
    return keys.get(key_id)


def entry_payload(entry) -> str:
    fields = {
        "seq": entry.seq,
        # Always UTC, so the hash does not depend on how the database hands the value back.
        "at": entry.at.astimezone(dt.UTC).isoformat(),
        "user": entry.user_id,
        "user_units": entry.user_units,
        "user_roles": entry.user_roles,
        "action": entry.action,
        "route": entry.route,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "thread_id": entry.thread_id,
        "mailbox_id": entry.mailbox_id,
        "case_id": entry.case_id,
        "unit_id": entry.unit_id,
        "citizen": entry.citizen_id,
        "detail": entry.detail,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)


def sign_entry(entry) -> None:
    """Set the entry's key id and hash with the current key (its prev_hash already set)."""
    current = settings.ACCESS_LOG_HMAC_KEY
    entry.hmac_key_id = _keys(current, ())[0]
    mac = _signer(current).copy()
    mac.update((entry.prev_hash + entry.hmac_key_id + entry_payload(entry)).encode())
    entry.entry_hash = mac.hexdigest()


def _entry_mac(key: bytes, entry) -> str:
    message = (entry.prev_hash + entry.hmac_key_id + entry_payload(entry)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_problem(entry) -> str:
    """Why the entry's hash is not right for its content, or "" when it is."""
    if entry.hmac_key_id is None:
        if entry.seq > settings.ACCESS_LOG_UNKEYED_THROUGH_SEQ:
            return "entry is not signed with the access-log key"
        expected = hashlib.sha256((entry.prev_hash + entry_payload(entry)).encode()).hexdigest()
    else:
        key = verifying_key(entry.hmac_key_id)
        if key is None:
            return f"signed with a key this server does not have ({entry.hmac_key_id})"
        expected = _entry_mac(key, entry)
    return "" if hmac.compare_digest(expected, entry.entry_hash) else "content does not match its hash"


def _anchor_message(*, first_seq: int, through_seq: int, through_hash: str, through_at: dt.datetime) -> bytes:
    at = through_at.astimezone(dt.UTC).isoformat()
    return f"anchor:{first_seq}:{through_seq}:{through_hash}:{at}".encode()


def sign_anchor(*, first_seq: int, through_seq: int, through_hash: str, through_at: dt.datetime) -> str:
    """`key id:mac` of a retention anchor: the prefix it stands for and the time of its last entry, so
    an anchor made without the key (to cover a deletion) is told apart from retention's."""
    key_id, key = signing_key()
    message = _anchor_message(
        first_seq=first_seq, through_seq=through_seq, through_hash=through_hash, through_at=through_at
    )
    return f"{key_id}:{hmac.new(key, message, hashlib.sha256).hexdigest()}"


def anchor_problem(anchor) -> str:
    """Why a retention anchor is not one retention made, or "" when it is. (That retention removed
    only entries past the period, the database saw to: migration 0005.)"""
    if anchor.mac is None:
        # Anchors from before keyed chains: only where unkeyed entries may be.
        if anchor.through_seq > settings.ACCESS_LOG_UNKEYED_THROUGH_SEQ:
            return f"retention anchor #{anchor.through_seq} is not signed"
        return ""
    key_id, _sep, mac = anchor.mac.partition(":")
    key = verifying_key(key_id)
    if key is None or anchor.through_at is None:
        return f"retention anchor #{anchor.through_seq} is signed with a key this server does not have"
    message = _anchor_message(
        first_seq=anchor.first_seq,
        through_seq=anchor.through_seq,
        through_hash=anchor.through_hash,
        through_at=anchor.through_at,
    )
    if not hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), mac):
        return f"retention anchor #{anchor.through_seq} does not match its signature"
    return ""
