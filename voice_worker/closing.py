"""How a call's end is recorded and its room released."""

from __future__ import annotations

import logging

from livekit.agents import CloseEvent, CloseReason

from calls import livekit_client
from calls.models import EndReason

logger = logging.getLogger(__name__)


async def delete_room(room_name: str) -> None:
    """Disconnects everyone still in the room (the caller's SIP leg included). A room
    already gone is fine; LiveKit down or not configured must not block closing the call."""
    try:
        await livekit_client.adelete_room(room_name)
    except Exception as exc:
        logger.warning("could not delete room %s: %s", room_name, exc)


def end_reason_for(event: CloseEvent | None) -> tuple[str, str]:
    """The end reason of a session that closed without us asking."""
    if event is None:
        return EndReason.ERROR, "The session ended unexpectedly."
    if event.reason == CloseReason.PARTICIPANT_DISCONNECTED:
        return EndReason.CALLER_HUNG_UP, ""
    if event.reason == CloseReason.ERROR:
        error = event.error
        detail = f"{error.type}: {getattr(error, 'error', error)}" if error is not None else "unknown error"
        return EndReason.ERROR, f"The voice pipeline failed: {detail}"
    if event.reason == CloseReason.JOB_SHUTDOWN:
        return EndReason.ERROR, "The voice worker shut down during the call."
    return EndReason.AGENT_ENDED, ""
