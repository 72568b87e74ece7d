"""Exact rate-limit counters: one atomic increment per request and window.

`hit(key, window)` counts a request in a fixed window of `window` seconds and returns
(count in this window, seconds until it resets). With Redis (REDIS_URL) it is one Lua
script, INCR plus EXPIRE on the first hit, atomic across every API process, so N
parallel requests against a limit of L admit exactly L (DRF's own cache throttle reads,
appends and writes a history list, and undercounts under concurrency).

Without Redis the counter lives in the local-memory cache under a process lock: exact
within the process, which is the whole API in that setup. If Redis is down, counting
falls back to a per-process counter (logged as a warning) rather than refusing every
login: each API process then allows up to the limit on its own (docs/operations.md,
"When a dependency is down").
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("morpheus.ratelimit")

_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

_lock = threading.Lock()
_fallback = LocMemCache("morpheus-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def _local_hit(store, key: str, window: int) -> tuple[int, int]:
    now = time.time()
    with _lock:
        count, resets_at = store.get(key) or (0, 0.0)
        if resets_at <= now:
            count, resets_at = 0, now + window
        count += 1
        store.set(key, (count, resets_at), timeout=max(1, int(resets_at - now) + 1))
    return count, max(1, int(resets_at - now + 0.999))


def _redis_hit(backend: RedisCache, key: str, window: int) -> tuple[int, int]:
    full_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(full_key, write=True)
    count, ttl = client.eval(_HIT, 1, full_key, int(window))
    return int(count), max(1, int(ttl))


def hit(key: str, window: int, *, using: str = "default") -> tuple[int, int]:
    backend = caches[using]
    if isinstance(backend, RedisCache):
        try:
            return _redis_hit(backend, key, window)
        except Exception as exc:  # redis.RedisError, OSError: Redis is down or refusing
            logger.warning("Rate-limit store unavailable (%s); counting in this process only", exc)
            return _local_hit(_fallback, key, window)
    return _local_hit(backend, key, window)
