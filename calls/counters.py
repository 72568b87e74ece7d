"""The repair of calls.CallCounter: a recount from COUNT(*) (selectors.calls_counted reads them).

The triggers installed by migration 0008 keep the counters in step with calls_call in the
writer's own transaction; this rebuilds them when someone changed the table behind the
triggers' back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count

from .models import Call, CallCounter

KEY = ("customer_id", "agent_id", "status", "direction", "is_simulation")


@dataclass(frozen=True)
class Rebuilt:
    calls: int  # calls counted
    corrected: int  # counters whose value was wrong (or missing, or left over)


def _true_counts(customer_id: uuid.UUID | None) -> dict[tuple, int]:
    calls = Call.objects.all() if customer_id is None else Call.objects.filter(customer_id=customer_id)
    rows = calls.values("customer_id", "agent_id", "status", "direction", "is_simulation").annotate(n=Count("id"))
    counts: dict[tuple, int] = {}
    for row in rows:
        key = (row["customer_id"], row["agent_id"] or 0, row["status"], row["direction"], row["is_simulation"])
        counts[key] = counts.get(key, 0) + row["n"]  # a NULL agent and agent 0 share key 0
    return counts


@transaction.atomic
def call_counters_rebuild(*, customer_id: uuid.UUID | None = None) -> Rebuilt:
    """Recounts the counters of one customer (or all) from the calls themselves. Writes to
    calls wait for it (a SHARE lock on the table), so the result is exact, not a snapshot
    that a concurrent write already made wrong. Zero counters are dropped."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE calls_call IN SHARE MODE")
    truth = _true_counts(customer_id)
    counters = CallCounter.objects.all() if customer_id is None else CallCounter.objects.filter(customer_id=customer_id)
    stored = {tuple(getattr(c, name) for name in KEY): c.count for c in counters}
    corrected = sum(1 for key in truth.keys() | stored.keys() if truth.get(key, 0) != stored.get(key, 0))
    counters.delete()
    CallCounter.objects.bulk_create(
        [CallCounter(**dict(zip(KEY, key, strict=True)), count=count) for key, count in truth.items()],
        batch_size=1000,
    )
    return Rebuilt(calls=sum(truth.values()), corrected=corrected)
