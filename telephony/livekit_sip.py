"""How a phone call reaches its LiveKit room over SIP.

The inbound webhook creates the call's room `call-<hex>` first, then answers the carrier
with TwiML/TeXML that dials LIVEKIT_SIP_URI with the room's suffix as the SIP user:
`sip:<hex>@<livekit sip host>`. LiveKit SIP takes the SIP user as the *callee*, and one
*callee* dispatch rule with room prefix `call-` (no randomness) puts the caller in room
`call-<hex>`: exactly the room we created and dispatched the agent to. A second header,
X-Morpheus-Call-Id, names the call for anyone reading the SIP participant's attributes.

`setup_livekit_sip` builds its dispatch rule with `dispatch_rule_request()` below, so the
rule and the URIs we dial can never disagree.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from livekit import api

from calls.rooms import CALL_ROOM_PREFIX

# The prefix the callee dispatch rule prepends to the SIP user to name the room.
SIP_ROOM_PREFIX = CALL_ROOM_PREFIX
CALL_ID_HEADER = "X-Morpheus-Call-Id"
# For the inbound trunk's headers_to_attributes: the header becomes a participant attribute.
CALL_ID_ATTRIBUTE = "morpheus.callId"
DISPATCH_RULE_NAME = "Morpheus calls"


def sip_configured() -> bool:
    return bool(settings.LIVEKIT_SIP_URI.strip())


def _sip_host_and_params() -> tuple[str, str, str]:
    """(scheme, host[:port], ;params) of LIVEKIT_SIP_URI, which may be `host`,
    `sip:host`, `sips:host:5061;transport=tls` or even `sip:user@host`."""
    raw = settings.LIVEKIT_SIP_URI.strip()
    scheme = "sip"
    lowered = raw.lower()
    for candidate in ("sips:", "sip:"):
        if lowered.startswith(candidate):
            scheme, raw = candidate[:-1], raw[len(candidate) :]
            break
    if "@" in raw:
        raw = raw.split("@", 1)[1]
    host, separator, params = raw.partition(";")
    return scheme, host, f"{separator}{params}"


def sip_user_for_room(room_name: str) -> str:
    if not room_name.startswith(SIP_ROOM_PREFIX):
        raise ValueError(f"{room_name!r} is not a phone call room")
    return room_name[len(SIP_ROOM_PREFIX) :]


def room_for_sip_user(user: str) -> str:
    """What the callee dispatch rule computes: the inverse of sip_user_for_room."""
    return f"{SIP_ROOM_PREFIX}{user}"


def sip_uri_for_room(room_name: str, *, call_id: int | None = None) -> str:
    """The SIP URI a carrier dials to put the caller in `room_name`. LIVEKIT_SIP_URI must be set."""
    if not sip_configured():
        raise ValueError("LIVEKIT_SIP_URI is not set")
    scheme, host, params = _sip_host_and_params()
    uri = f"{scheme}:{sip_user_for_room(room_name)}@{host}{params}"
    if call_id is not None:
        uri += f"?{CALL_ID_HEADER}={quote(str(call_id))}"
    return uri


def dispatch_rule_request(*, trunk_ids: list[str] | None = None) -> api.CreateSIPDispatchRuleRequest:
    """The one SIP dispatch rule phone calls need (see the module docstring). No room_config
    agents: the agent is dispatched explicitly per call, with metadata naming the call."""
    return api.CreateSIPDispatchRuleRequest(
        dispatch_rule=api.SIPDispatchRuleInfo(
            name=DISPATCH_RULE_NAME,
            trunk_ids=list(trunk_ids or []),
            rule=api.SIPDispatchRule(
                dispatch_rule_callee=api.SIPDispatchRuleCallee(room_prefix=SIP_ROOM_PREFIX, randomize=False)
            ),
        )
    )


INBOUND_TRUNK_NAME = "Morpheus inbound"


def inbound_trunk_info(
    *, allowed_addresses: list[str] | None = None, auth_username: str | None = "", auth_password: str | None = ""
) -> api.SIPInboundTrunkInfo:
    """The one inbound trunk carriers' calls arrive on. No `numbers` filter: the SIP user a
    carrier dials is the room suffix (sip_uri_for_room), not a phone number, and LiveKit
    refuses calls to users outside a non-empty list. X-Morpheus-Call-Id becomes the SIP
    participant's `morpheus.callId` attribute."""
    return api.SIPInboundTrunkInfo(
        name=INBOUND_TRUNK_NAME,
        metadata='{"managedBy": "morpheus setup_livekit_sip"}',
        allowed_addresses=list(allowed_addresses or []),
        auth_username=auth_username or "",
        auth_password=auth_password or "",
        headers_to_attributes={CALL_ID_HEADER: CALL_ID_ATTRIBUTE},
    )
