"""Capacity leases: one per live call, so a customer's concurrency can never leak.

A customer may run `concurrency_limit` calls at once; `reserved_inbound` of those slots
only inbound calls may take, so a campaign can never lock out the customer's callers.
Each ringing or live call holds a lease named after it (`call:<id>`), taken *before*
dialing or answering, and given back on every terminal path: `call_end` releases it
after commit (LiveKit webhook, voice worker, carrier status, API end, Celery failure,
stale sweep all end calls through it). Nothing else can leak a slot either: a lease
expires `CALL_LEASE_TTL_SECONDS` after its last heartbeat (the voice worker renews
it), and the beat sweeper `sweep_call_leases` drops expired leases and leases of calls
that are no longer open.

Backends: with REDIS_URL, two sorted sets per customer (members = lease names, scores
= expiry times) changed by Lua scripts, so acquiring is one atomic step however many
API processes, Celery workers and voice workers race. Without REDIS_URL (`make run`,
the SQLite test suite) an in-process table with a lock does the same for one process:
that is development only, documented in docs/outbound.md.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection

from morpheus.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

INBOUND = "inbound"
OUTBOUND = "outbound"
REGISTRY_KEY = "morpheus:leases:customers"


@dataclass(frozen=True)
class Capacity:
    limit: int
    reserved_inbound: int

    @property
    def outbound_limit(self) -> int:
        return max(0, self.limit - self.reserved_inbound)


def capacity_for(customer_id, *, hold_rebuild_lock: bool = False) -> Capacity:
    """The customer's limits: its own (platform admin) or the platform defaults.

    hold_rebuild_lock: also takes the customer's analytics rebuild lock (shared, held until
    the transaction ends: analytics.rollups) in the same round trip, for a caller that
    counts a new call in the rollups next (`calls_added(..., rebuild_locked=True)`). The
    lock keeps a bulk rebuild and the call's counting apart; taking it a step earlier in
    the same transaction changes nothing about whom it keeps apart."""
    from analytics.rollups import rebuild_lock

    from .models import CallCapacity

    limits = CallCapacity.objects.filter(customer_id=customer_id).values_list(
        "concurrency_limit", "reserved_inbound_concurrency"
    )
    lock = rebuild_lock(customer_id) if hold_rebuild_lock else None
    if lock is None:
        row = limits.first()
    else:  # the lock's one row, the customer's limits joined to it when it has its own
        read, params = limits.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT capacity.* FROM (SELECT {lock[0]}) AS rebuild_lock LEFT JOIN ({read}) AS capacity ON true",  # noqa: S608
                [*lock[1], *params],
            )
            row = cursor.fetchone()
    own_limit, own_reserved = row if row is not None else (None, None)
    limit = settings.CALL_CONCURRENCY_LIMIT if own_limit is None else own_limit
    reserved = settings.CALL_RESERVED_INBOUND_CONCURRENCY if own_reserved is None else own_reserved
    return Capacity(limit=max(0, limit), reserved_inbound=max(0, min(reserved, limit)))


def lease_name(call_id: int) -> str:
    return f"call:{call_id}"


def call_id_of(name: str) -> int | None:
    prefix, _, value = name.partition(":")
    return int(value) if prefix == "call" and value.isdigit() else None


# --- Backends -------------------------------------------------------------------------

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local mine = KEYS[1]
if ARGV[4] == 'outbound' then mine = KEYS[2] end
if redis.call('ZSCORE', mine, ARGV[3]) then
  redis.call('ZADD', mine, ARGV[2], ARGV[3])
  return 1
end
local inbound = redis.call('ZCARD', KEYS[1])
local outbound = redis.call('ZCARD', KEYS[2])
if inbound + outbound >= tonumber(ARGV[5]) then return 0 end
if ARGV[4] == 'outbound' and outbound >= tonumber(ARGV[6]) then return 0 end
redis.call('ZADD', mine, ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[7])
return 1
"""

_RENEW = """
local renewed = 0
for i = 1, 2 do
  local score = redis.call('ZSCORE', KEYS[i], ARGV[3])
  if score and tonumber(score) > tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
    renewed = 1
  end
end
return renewed
"""


class RedisLeases:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._renew = self.client.register_script(_RENEW)

    @staticmethod
    def _keys(customer_id) -> list[str]:
        # {customer} is a hash tag: both sets live on one Redis Cluster slot.
        return [f"morpheus:leases:{{{customer_id}}}:in", f"morpheus:leases:{{{customer_id}}}:out"]

    def acquire(self, customer_id, name, direction, capacity: Capacity, now: float, ttl: float) -> bool:
        keys = [*self._keys(customer_id), REGISTRY_KEY]
        args = [now, now + ttl, name, direction, capacity.limit, capacity.outbound_limit, str(customer_id)]
        return bool(self._acquire(keys=keys, args=args))

    def renew(self, customer_id, name, now: float, ttl: float) -> bool:
        return bool(self._renew(keys=self._keys(customer_id), args=[now, now + ttl, name]))

    def release(self, customer_id, name) -> None:
        pipe = self.client.pipeline()
        for key in self._keys(customer_id):
            pipe.zrem(key, name)
        pipe.execute()

    def held(self, customer_id, now: float) -> dict[str, list[str]]:
        inbound, outbound = self._keys(customer_id)
        pipe = self.client.pipeline()
        pipe.zrangebyscore(inbound, f"({now}", "+inf")
        pipe.zrangebyscore(outbound, f"({now}", "+inf")
        held_in, held_out = pipe.execute()
        return {INBOUND: [m.decode() for m in held_in], OUTBOUND: [m.decode() for m in held_out]}

    def customers(self) -> list[str]:
        return [m.decode() for m in self.client.smembers(REGISTRY_KEY)]

    def sweep(self, customer_id, now: float) -> int:
        inbound, outbound = self._keys(customer_id)
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(inbound, "-inf", now)
        pipe.zremrangebyscore(outbound, "-inf", now)
        pipe.zcard(inbound)
        pipe.zcard(outbound)
        removed_in, removed_out, left_in, left_out = pipe.execute()
        if not left_in and not left_out:
            self.client.srem(REGISTRY_KEY, str(customer_id))
        return removed_in + removed_out


class LocalLeases:
    """One process's leases (no REDIS_URL): same rules, a lock instead of Lua."""

    def __init__(self):
        self._lock = threading.Lock()
        self._leases: dict[str, dict[str, dict[str, float]]] = {}

    def _sets(self, customer_id) -> dict[str, dict[str, float]]:
        return self._leases.setdefault(str(customer_id), {INBOUND: {}, OUTBOUND: {}})

    def _drop_expired(self, sets, now: float) -> int:
        removed = 0
        for leases in sets.values():
            for name in [n for n, expiry in leases.items() if expiry <= now]:
                del leases[name]
                removed += 1
        return removed

    def acquire(self, customer_id, name, direction, capacity: Capacity, now: float, ttl: float) -> bool:
        with self._lock:
            sets = self._sets(customer_id)
            self._drop_expired(sets, now)
            if name in sets[direction]:
                sets[direction][name] = now + ttl
                return True
            total = len(sets[INBOUND]) + len(sets[OUTBOUND])
            if total >= capacity.limit:
                return False
            if direction == OUTBOUND and len(sets[OUTBOUND]) >= capacity.outbound_limit:
                return False
            sets[direction][name] = now + ttl
            return True

    def renew(self, customer_id, name, now: float, ttl: float) -> bool:
        with self._lock:
            renewed = False
            for leases in self._sets(customer_id).values():
                if leases.get(name, 0) > now:
                    leases[name] = now + ttl
                    renewed = True
            return renewed

    def release(self, customer_id, name) -> None:
        with self._lock:
            for leases in self._sets(customer_id).values():
                leases.pop(name, None)

    def held(self, customer_id, now: float) -> dict[str, list[str]]:
        with self._lock:
            sets = self._sets(customer_id)
            return {d: sorted(n for n, expiry in leases.items() if expiry > now) for d, leases in sets.items()}

    def customers(self) -> list[str]:
        with self._lock:
            return list(self._leases)

    def sweep(self, customer_id, now: float) -> int:
        with self._lock:
            sets = self._sets(customer_id)
            removed = self._drop_expired(sets, now)
            if not sets[INBOUND] and not sets[OUTBOUND]:
                self._leases.pop(str(customer_id), None)
            return removed


@lru_cache(maxsize=4)
def _backend_for(url: str):
    return RedisLeases(url) if url else LocalLeases()


def backend():
    return _backend_for(settings.REDIS_URL or "")


class LeaseStoreUnavailable(ServiceUnavailable):
    """Redis did not answer: no slot can be granted (a 503; the dialer waits)."""

    default_message = "Call capacity service is unavailable, please try again later"

    def __init__(self, detail: str = ""):
        super().__init__(self.default_message)
        self.detail = detail


def _guard(operation):
    try:
        return operation()
    except LeaseStoreUnavailable:
        raise
    except Exception as exc:  # redis.ConnectionError, TimeoutError ...
        if isinstance(backend(), LocalLeases):
            raise
        raise LeaseStoreUnavailable(f"{type(exc).__name__}: {exc}") from exc


# --- The API the rest of the code uses -----------------------------------------------


def lease_ttl() -> float:
    return float(settings.CALL_LEASE_TTL_SECONDS)


def acquire(
    *,
    customer_id,
    call_id: int,
    direction: str,
    now: float | None = None,
    ttl: float | None = None,
    capacity: Capacity | None = None,
) -> bool:
    """Takes a slot for the call; True if granted (or already held: idempotent, renewed).
    False when the customer is at capacity. Raises LeaseStoreUnavailable. `capacity`: the
    customer's, when the caller has just read it (capacity_for)."""
    capacity = capacity_for(customer_id) if capacity is None else capacity
    now = time.time() if now is None else now
    ttl = lease_ttl() if ttl is None else ttl
    granted = _guard(lambda: backend().acquire(customer_id, lease_name(call_id), direction, capacity, now, ttl))
    if not granted:
        logger.info("Customer %s at capacity (%s): call %s (%s) waits", customer_id, capacity, call_id, direction)
    return granted


def renew(*, customer_id, call_id: int, now: float | None = None) -> bool:
    """The heartbeat: extends a live lease; False if it had already expired or was released."""
    now = time.time() if now is None else now
    return _guard(lambda: backend().renew(customer_id, lease_name(call_id), now, lease_ttl()))


def release(*, customer_id, call_id: int) -> None:
    """Gives the slot back; releasing twice, or a lease never taken, is fine."""
    _guard(lambda: backend().release(customer_id, lease_name(call_id)))


def release_quietly(*, customer_id, call_id: int) -> None:
    """What call_end uses. Redis down must not stop a call from ending: the lease then
    expires without its heartbeat, and the sweeper drops leases of ended calls."""
    try:
        release(customer_id=customer_id, call_id=call_id)
    except LeaseStoreUnavailable as exc:
        logger.warning("Lease of call %s not released now (%s); it expires or the sweeper drops it", call_id, exc)


def forget_all() -> None:
    """Drops every lease (tests start from an empty pool)."""
    store = backend()
    if isinstance(store, LocalLeases):
        with store._lock:
            store._leases.clear()
        return
    for customer_id in store.customers():
        store.client.delete(*store._keys(customer_id))
    store.client.delete(REGISTRY_KEY)


def held(customer_id, now: float | None = None) -> dict[str, list[str]]:
    """{"inbound": [lease names], "outbound": [...]} live now."""
    now = time.time() if now is None else now
    return _guard(lambda: backend().held(customer_id, now))


def in_use(customer_id, now: float | None = None) -> int:
    leases = held(customer_id, now)
    return len(leases[INBOUND]) + len(leases[OUTBOUND])


def sweep(now: float | None = None) -> int:
    """Drops expired leases and leases of calls that are no longer open. Returns how many."""
    from .models import OPEN_CALL_STATUSES, Call

    now = time.time() if now is None else now
    store = backend()
    removed = 0
    for customer_id in _guard(store.customers):
        removed += _guard(lambda customer_id=customer_id: store.sweep(customer_id, now))
        leases = _guard(lambda customer_id=customer_id: store.held(customer_id, now))
        names = leases[INBOUND] + leases[OUTBOUND]
        ids = {call_id_of(name): name for name in names if call_id_of(name) is not None}
        open_ids = set(
            Call.objects.filter(pk__in=list(ids), status__in=OPEN_CALL_STATUSES).values_list("pk", flat=True)
        )
        for call_id, name in ids.items():
            if call_id not in open_ids:
                _guard(lambda customer_id=customer_id, name=name: store.release(customer_id, name))
                removed += 1
    if removed:
        logger.warning("Reclaimed %s call lease(s)", removed)
    return removed
