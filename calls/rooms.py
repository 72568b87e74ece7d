"""LiveKit room names and settings for calls, and the metadata that names a call in LiveKit.

Room names are `call-<16 hex>` (phone calls) and `sim-<16 hex>` (dashboard simulations):
unique, and unguessable enough that a name leaked in a log is no use without a token we
sign. The `call-` prefix is what the LiveKit SIP dispatch rule keys on (telephony/livekit_sip.py).
Each tunable reads an optional Django setting so an operator can change it without code.
"""

import datetime
import secrets

from django.conf import settings

CALL_ROOM_PREFIX = "call-"
SIMULATION_ROOM_PREFIX = "sim-"
# Text-only simulations (no LiveKit) have no room; the name only keeps the column unique.
TEXT_SIMULATION_PREFIX = "text-"


def new_room_name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


def _setting(name: str, default):
    return getattr(settings, name, default)


def inbound_empty_timeout() -> int:
    """Seconds LiveKit keeps an inbound call's room open before the caller arrives."""
    return _setting("CALLS_INBOUND_ROOM_EMPTY_TIMEOUT_SECONDS", 120)


def simulation_empty_timeout() -> int:
    """Seconds LiveKit keeps a simulation room open before the dashboard user joins."""
    return _setting("CALLS_SIMULATION_ROOM_EMPTY_TIMEOUT_SECONDS", 300)


# The caller or tester, the agent, and room for a transfer or a supervisor.
INBOUND_MAX_PARTICIPANTS = 4
SIMULATION_MAX_PARTICIPANTS = 3


def simulation_token_ttl() -> datetime.timedelta:
    """Lifetime of the dashboard user's join token: enough to connect, short if leaked."""
    return datetime.timedelta(seconds=_setting("CALLS_SIMULATION_TOKEN_TTL_SECONDS", 15 * 60))


def stale_margin() -> datetime.timedelta:
    """How long past its agent's max duration an open call may stay before it is closed."""
    return datetime.timedelta(seconds=_setting("CALLS_STALE_MARGIN_SECONDS", 5 * 60))


DEFAULT_MAX_DURATION_SECONDS = 1800  # Agent.max_duration_seconds' default, for calls whose agent is gone


def room_metadata(call) -> dict:
    return {"callId": call.id, "customerId": str(call.customer_id), "simulation": call.is_simulation}


def dispatch_metadata(call) -> dict:
    """The agent dispatch's JSON metadata: the voice worker reads `callId` and loads the rest."""
    return {
        "callId": call.id,
        "agentId": call.agent_id,
        "customerId": str(call.customer_id),
        "direction": call.direction,
        "simulation": call.is_simulation,
        "fromNumber": call.from_number,
        "toNumber": call.to_number,
        # Outbound: the values of the agent's {{placeholders}} (calls/outbound.py).
        "variables": call.metadata.get("variables") or {},
    }
