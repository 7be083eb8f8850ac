"""The cache (django-redis): one client per server and an incr that is one atomic Redis call (the rate
limits count every send with it). These failed on Django's own Redis backend."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture
def redis_client():
    client = cache.client.get_client(write=True)
    yield client
    cache.clear()


def _calls(client) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_incr_counts_up_in_one_call_and_keeps_the_expiry(redis_client):
    cache.add("sends", 1, timeout=60)
    key = cache.make_and_validate_key("sends")
    cache.incr("sends")
    before = _calls(redis_client)
    assert cache.incr("sends") == 3
    assert cache.incr("sends", 5) == 8
    assert cache.decr("sends", 2) == 6
    after = _calls(redis_client)
    assert cache.get("sends") == 6
    assert 0 < redis_client.ttl(key) <= 60  # the counter still runs out
    # Three counts, three calls of the script (the EXISTS and INCRBY inside it are counted by Redis
    # too, but run in the server, in one step).
    assert after["cmdstat_eval"] - before["cmdstat_eval"] == 3


def test_incr_of_a_missing_key_raises_and_creates_nothing(redis_client):
    with pytest.raises(ValueError):
        cache.incr("never-set")
    assert redis_client.exists(cache.make_and_validate_key("never-set")) == 0
    assert cache.get("never-set") is None


def test_a_counter_expiring_while_it_is_counted_never_loses_its_expiry(redis_client, monkeypatch):
    """Django's incr asks EXISTS and then sends INCRBY: a counter that runs out in between is created
    again by INCRBY with no expiry, and a rate limit on it then never lifts. Here the counter runs
    out right after any EXISTS the client sends; counting must leave no key without an expiry."""
    cache.set("window", 4, timeout=60)
    key = cache.make_and_validate_key("window")
    exists = type(redis_client).exists

    def exists_then_expire(self, *names):
        found = exists(self, *names)
        self.delete(*names)  # the counter's time ran out just after the check
        return found

    monkeypatch.setattr(type(redis_client), "exists", exists_then_expire)
    try:
        count = cache.incr("window")
    except ValueError:
        count = None
    assert count in (5, None)
    assert redis_client.ttl(key) != -1  # -1: a key without expiry; -2: no key
