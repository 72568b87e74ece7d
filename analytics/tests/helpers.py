"""Calls written the way production writes them: through calls.services (so the rollup
hook runs), with their times, outcome and cost set by the test."""

import datetime
from decimal import Decimal

from analytics.rollups import call_changed
from calls import services
from calls.models import CallStatus, EndReason, TranscriptTurn
from calls.tests.factories import CallFactory


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def make_call(
    agent,
    started: str,
    *,
    duration: int | None = 60,
    status: str | None = None,
    reason: str = EndReason.CALLER_HUNG_UP,
    cost: str | None = None,
    direction: str = "inbound",
    latencies: list[float] | None = None,
    successful: bool | None = None,
    open_call: bool = False,
):
    """A call of `agent` started at `started` (UTC ISO). duration None: never answered."""
    start = utc(started)
    answered = start + datetime.timedelta(seconds=5) if duration is not None else None
    call = CallFactory(
        agent=agent,
        customer=agent.customer,
        started_at=start,
        answered_at=answered,
        direction=direction,
        status=CallStatus.ACTIVE if answered else CallStatus.RINGING,
    )
    call_changed(call)  # what call_start_* does right after creating the row
    if open_call:
        return call
    ended = (answered + datetime.timedelta(seconds=duration)) if answered else start + datetime.timedelta(seconds=30)
    call = services.call_end(call=call, reason=reason, status=status, teardown=services.TEARDOWN_NONE, now=ended)
    if latencies:
        for value in latencies:
            TranscriptTurn.objects.create(call=call, role="assistant", content="ok", e2e_latency_ms=value)
        call = services.call_finalize(call=call)
    if cost is not None or successful is not None:
        if cost is not None:
            call.cost = Decimal(cost)
        if successful is not None:
            call.analysis = {"status": "done", "successful": successful}
        call.save()
        call_changed(call)
    return call
