"""Which call a LiveKit job is for, and whether the job may touch it.

The calls app dispatches the agent with JSON metadata naming the call (and its customer).
A dispatch is refused, without touching any call, when its metadata is malformed or it
names a call that does not exist, belongs to another customer, takes place in another
room or has already ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class InvalidDispatch(Exception):
    pass


@dataclass(frozen=True)
class Dispatch:
    call_id: int
    customer_id: str | None = None


def parse_dispatch(metadata: str) -> Dispatch:
    """The dispatch metadata the calls app writes: JSON with `callId` (and `customerId`)."""
    try:
        data = json.loads(metadata or "")
    except ValueError:
        raise InvalidDispatch("the dispatch metadata is not JSON")
    if not isinstance(data, dict):
        raise InvalidDispatch("the dispatch metadata is not a JSON object")
    call_id = data.get("callId")
    if isinstance(call_id, str) and call_id.isdigit():
        call_id = int(call_id)
    if isinstance(call_id, bool) or not isinstance(call_id, int) or call_id <= 0:
        raise InvalidDispatch("the dispatch metadata has no valid callId")
    customer_id = data.get("customerId")
    if customer_id is not None and not isinstance(customer_id, str):
        raise InvalidDispatch("the dispatch metadata has an invalid customerId")
    return Dispatch(call_id=call_id, customer_id=customer_id)


def dispatch_problem(call, dispatch: Dispatch, *, room_name: str) -> str | None:
    """Why this dispatch must not touch `call`, or None when it is the call's own dispatch."""
    if call is None:
        return f"call {dispatch.call_id} does not exist"
    if dispatch.customer_id is not None and dispatch.customer_id != str(call.customer_id):
        return f"call {call.pk} belongs to another customer"
    if room_name != call.room_name:
        return f"call {call.pk} does not take place in room {room_name!r}"
    if not call.is_open:
        return f"call {call.pk} has already ended ({call.status})"
    return None
