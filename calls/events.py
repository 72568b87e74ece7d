"""The call's webhook events (integrations): `call.started`, `call.answered`, `call.ended`
(with the transcript and end reason), `call.transferred`, `call.failed`.

Called by calls/services.py inside the transaction of the change. The data is what
GET /api/v1/calls/:id shows (CallDetail) for `call.ended`, and the list item otherwise;
it is only built when an endpoint of the tenant listens.
"""

from integrations import events

from .models import Call, CallStatus, EndReason


def emit_call_event(call: Call, event_type: str) -> None:
    from .serializers import CallDetail, CallListItem

    def data():
        if event_type == "call.ended":
            return CallDetail(call).data
        return CallListItem(call).data

    events.emit(customer_id=call.customer_id, event_type=event_type, data=data, agent_id=call.agent_id)


def emit_call_ended(call: Call) -> None:
    emit_call_event(call, "call.ended")
    if call.end_reason == EndReason.TRANSFERRED:
        emit_call_event(call, "call.transferred")
    if call.status == CallStatus.FAILED:
        emit_call_event(call, "call.failed")
