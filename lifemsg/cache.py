"""Django's Redis cache backend, keeping one Redis client per server instead of making a new one for
every cache call.

django.core.cache.backends.redis builds a `redis.Redis` for each operation (the connection pool is
kept); redis-py fills every new client's table of about 250 response callbacks, which cost more
Python time than the command itself: a citizen's send makes three cache calls (the rate limit's
add and incr, routing's wake-up), about a tenth of its time in the web process. A redis-py client
is safe to share between threads, and its pool reconnects after a fork.

`incr` (the rate limit counts every send with it) is one atomic Redis call instead of Django's two
(EXISTS, then INCRBY): besides the round trip, Django's pair has a gap in which a counter that
expires between the two calls is created again by INCRBY without an expiry, and then never runs out."""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

# INCRBY only a key that exists (Django's incr raises ValueError for a missing key), in one step.
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._clients_lock = threading.Lock()
        self._incr_script = None

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._incr_script is None:
            # Sent as EVALSHA to whichever client runs it, EVAL once where the server lacks it.
            self._incr_script = client.register_script(_INCR_EXISTING)
        value = self._incr_script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(index)
                if client is None:
                    client = self._client(connection_pool=self._get_connection_pool(write))
                    self._clients[index] = client
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
