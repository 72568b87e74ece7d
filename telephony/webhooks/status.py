"""Carrier call statuses (Twilio's vocabulary, which TeXML shares) applied to our calls."""

import logging

from calls import services as call_services
from calls.models import Call, CallStatus, EndReason

logger = logging.getLogger(__name__)

PROGRESS = {"queued", "initiated", "ringing"}
ANSWERED = {"in-progress", "answered"}
# carrier status -> (our final status or None for "completed if answered, else canceled", end reason)
FINAL = {
    "completed": (None, EndReason.CALLER_HUNG_UP),
    "busy": (CallStatus.BUSY, EndReason.BUSY),
    "no-answer": (CallStatus.NO_ANSWER, EndReason.NO_ANSWER),
    "failed": (CallStatus.FAILED, EndReason.CARRIER),
    "canceled": (CallStatus.CANCELED, EndReason.CALLER_HUNG_UP),
}
CARRIER_STATUSES = sorted(PROGRESS | ANSWERED | set(FINAL))


def apply_carrier_status(*, call: Call, carrier_status: str, carrier_duration: int | None, dial_ended=False) -> Call:
    """Moves the call along: answered, or closed with the carrier's reason (the room is torn
    down by a task). Repeated and late callbacks are no-ops: carriers retry and reorder.

    dial_ended: a <Dial action> callback; the bridged leg is over whatever status it
    reached, so an answered leg means a completed call."""
    if carrier_status in PROGRESS or not call.is_open:
        return call
    if carrier_status in ANSWERED and not dial_ended:
        return call_services.call_mark_answered(call=call)
    if carrier_status in ANSWERED:
        status, reason = CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP
    else:
        status, reason = FINAL[carrier_status]
    try:
        return call_services.call_end(
            call=call,
            reason=reason,
            status=status,
            teardown=call_services.TEARDOWN_LATER,
            carrier_duration=carrier_duration,
            metadata={"carrierStatus": carrier_status},
        )
    except call_services.CallAlreadyEnded as ended:
        return ended.call
