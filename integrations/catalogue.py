"""The event catalogue: every event name a webhook endpoint may subscribe to.

Apps add their own events once at import time (their `apps.py` `ready()` is a good
place), then emit them with `integrations.events.emit`:

    from integrations.catalogue import register_event_type
    register_event_type("campaign.started", "A campaign began dialing.")

Names are `<resource>.<what happened>`; registering the same name twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

PING = "ping"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # False for `ping`: sent only by POST /webhook-endpoints/:id/test, never subscribed to.
    subscribable: bool = True


_CATALOGUE: dict[str, EventType] = {}


def register_event_type(name: str, description: str, *, subscribable: bool = True) -> EventType:
    if not name or name != name.strip() or " " in name:
        raise ValueError(f"Invalid event type name: {name!r}")
    event_type = EventType(name=name, description=description, subscribable=subscribable)
    _CATALOGUE[name] = event_type
    return event_type


def get_event_type(name: str) -> EventType | None:
    return _CATALOGUE.get(name)


def subscribable_event_types() -> list[EventType]:
    return sorted((t for t in _CATALOGUE.values() if t.subscribable), key=lambda t: t.name)


register_event_type(PING, "A test event sent by POST /webhook-endpoints/:id/test.", subscribable=False)
register_event_type("call.started", "A call was created: an inbound call rang or a simulation began.")
register_event_type("call.answered", "The caller and the agent were connected.")
register_event_type(
    "call.ended", "A call ended, whatever the outcome: the call with its end reason and full transcript."
)
register_event_type("call.transferred", "A call ended because it was transferred elsewhere.")
register_event_type("call.failed", "A call ended in failure (sent in addition to call.ended).")
register_event_type(
    "call.analyzed", "A call's post-call analysis finished (status done or failed): the call with its analysis."
)
register_event_type("recording.ready", "A call's recording is stored: the call with its recording's details.")
