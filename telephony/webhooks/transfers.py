"""Where an agent may transfer a caller: only to destinations configured on the agent.

The agent asks LiveKit to transfer (SIP REFER); the carrier then asks us what to dial,
with the REFER's target. Dialling only what the agent's `transfers` list names keeps a
confused (or prompt-injected) model from sending callers, and the bill, anywhere else.
"""

from morpheus.e164 import from_carrier as e164


def _sip_key(uri: str) -> str:
    """`<sip:Bob@PBX.example.com;transport=udp?X-A=1>` → `bob@pbx.example.com`."""
    value = uri.strip().removeprefix("<").split(">", 1)[0]
    for scheme in ("sips:", "sip:"):
        if value.lower().startswith(scheme):
            value = value[len(scheme) :]
            break
    return value.split("?", 1)[0].split(";", 1)[0].lower()


def allowed_destination(agent, refer_target: str) -> str | None:
    """The agent's configured destination the REFER target designates, or None."""
    if agent is None or not refer_target:
        return None
    target = refer_target.strip().removeprefix("<").split(">", 1)[0]
    target_number = e164(target)
    for transfer in agent.transfers or []:
        destination = str((transfer or {}).get("destination", "")).strip()
        if destination.lower().startswith(("sip:", "sips:")):
            if _sip_key(destination) == _sip_key(target):
                return destination
        elif target_number and e164(destination) == target_number:
            return target_number
    return None
