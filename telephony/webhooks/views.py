"""POST /webhooks/voice/inbound and /webhooks/voice/status: public, signed, throttled."""

import logging

from django.urls import reverse
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from calls import services as call_services
from calls.livekit_client import NOT_CONFIGURED_MESSAGE, LiveKitUnavailable
from calls.models import Call, CallStatus, EndReason
from morpheus.api.parsers import FormParser, JSONParser
from morpheus.api.responses import bare, ok
from morpheus.api.throttling import AtomicScopedRateThrottle
from telephony import livekit_sip

from . import schema, twiml
from .carriers import read_carrier_request
from .routing import NotAnswering, UnknownNumber, route_inbound
from .serializers import CallStatusInput, InboundCallInput, TransferInput
from .signatures import MISSING_SIGNATURE, WebhookForbidden
from .status import apply_carrier_status
from .transfers import allowed_destination

logger = logging.getLogger(__name__)


TOO_MANY_RINGING = "too_many_ringing_calls"


def _json_reject(reason: str):
    """The spec's bare answer (SIP integrations read `action` at the top level)."""
    rejected = {"action": "reject", "roomName": None, "agentId": None, "callId": None, "sipUri": None}
    return bare({**rejected, "reason": reason})


class VoiceWebhookView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AtomicScopedRateThrottle]
    throttle_scope = "webhook"
    parser_classes = [JSONParser, FormParser]


class InboundCallWebhook(VoiceWebhookView):
    @schema.inbound_call_webhook_post
    def post(self, request):
        incoming = read_carrier_request(request)
        body = InboundCallInput(data=incoming.params)
        if not body.is_valid():
            if incoming.answers_xml and set(body.errors) == {"To"} and incoming.params.get("To"):
                logger.info("Inbound %s call to unroutable %r rejected", incoming.carrier, incoming.params["To"])
                return twiml.reject()
            raise ValidationError(body.errors)
        data = body.validated_data
        to_number = data["To"]

        try:
            number = route_inbound(to_number)
        except UnknownNumber:
            logger.info("Inbound %s call to unknown number %s rejected", incoming.carrier, to_number)
            if incoming.answers_xml:
                return twiml.reject()
            raise NotFound(f"Phone number {to_number} does not exist")
        except NotAnswering as refusal:
            logger.warning(
                "Inbound %s call to %s (customer %s) refused: %s",
                incoming.carrier,
                to_number,
                refusal.number.customer_id,
                refusal.reason,
            )
            if incoming.answers_xml:
                return twiml.unavailable()
            return _json_reject(refusal.reason)

        if incoming.answers_xml and not livekit_sip.sip_configured():
            raise LiveKitUnavailable(NOT_CONFIGURED_MESSAGE, code="not_configured", reason="LIVEKIT_SIP_URI unset")
        try:
            call, created = call_services.call_start_inbound(
                phone_number=number,
                carrier=incoming.carrier,
                carrier_call_id=data["CallSid"],
                from_number=data["From"],
                to_number=to_number,
            )
        except call_services.TooManyRinging:
            logger.warning("Inbound %s call to %s refused: too many ringing calls", incoming.carrier, to_number)
            if incoming.answers_xml:
                return twiml.unavailable()
            return _json_reject(TOO_MANY_RINGING)
        except call_services.AtCapacity as refusal:
            # Every capacity slot is in use (calls/leases.py): a polite busy.
            logger.warning("Inbound call to %s (customer %s) refused: at capacity", to_number, number.customer_id)
            if incoming.answers_xml:
                return twiml.busy()
            return _json_reject(refusal.reason)
        if not created:
            logger.info("Carrier retry for call %s (%s %s)", call.id, incoming.carrier, data["CallSid"])
        if not call.is_open:
            if incoming.answers_xml:
                return twiml.unavailable()
            raise call_services.CallAlreadyEnded(call)

        sip_uri = None
        if livekit_sip.sip_configured():
            sip_uri = livekit_sip.sip_uri_for_room(call.room_name, call_id=call.id)
        if incoming.answers_xml:
            return twiml.connect(
                sip_uri=sip_uri,
                time_limit=number.agent.max_duration_seconds,
                action_url=request.build_absolute_uri(reverse("voice-status-webhook")),
                refer_url=request.build_absolute_uri(reverse("voice-transfer-webhook")),
            )
        connected = {"action": "connect", "roomName": call.room_name, "agentId": call.agent_id, "callId": call.id}
        return bare({**connected, "sipUri": sip_uri, "reason": None})


class CallStatusWebhook(VoiceWebhookView):
    success_messages = {
        "post": "Call status updated",
    }

    @schema.call_status_webhook_post
    def post(self, request):
        incoming = read_carrier_request(request)
        body = CallStatusInput(data=incoming.params)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sid = data["CallSid"]
        dial_ended = bool(data.get("DialCallStatus"))
        if dial_ended:  # the <Dial action> callback: the bridged leg is over
            carrier_status, duration = data["DialCallStatus"], data.get("DialCallDuration")
        else:
            carrier_status, duration = data["CallStatus"], data.get("CallDuration")

        call = Call.objects.filter(carrier=incoming.carrier, carrier_call_id=sid).first()
        if call is None:
            logger.info("Status %s for unknown %s call %s ignored", carrier_status, incoming.carrier, sid)
            if incoming.answers_xml:
                return twiml.empty()
            raise NotFound(f"Call with SID {sid} does not exist")
        call = apply_carrier_status(
            call=call, carrier_status=carrier_status, carrier_duration=duration, dial_ended=dial_ended
        )
        if incoming.answers_xml:
            return twiml.empty()
        return ok({"callId": call.id, "status": call.status})


class TransferWebhook(VoiceWebhookView):
    @schema.transfer_webhook_post
    def post(self, request):
        incoming = read_carrier_request(request)
        if not incoming.answers_xml:
            raise WebhookForbidden(MISSING_SIGNATURE)
        body = TransferInput(data=incoming.params)
        body.is_valid(raise_exception=True)
        sid, target = body.validated_data["CallSid"], body.validated_data["ReferTransferTarget"]
        call = Call.objects.select_related("agent").filter(carrier=incoming.carrier, carrier_call_id=sid).first()
        destination = allowed_destination(call.agent, target) if call is not None else None
        if destination is None:
            logger.warning("Refused transfer of %s call %s to %r", incoming.carrier, sid, target)
            if call is not None and call.is_open:
                call_services.call_end(
                    call=call, reason=EndReason.ERROR, error_message=f"Transfer to {target} is not allowed"
                )
            return twiml.unavailable(twiml.TRANSFER_REFUSED_MESSAGE)
        if call.is_open:
            call_services.call_end(
                call=call,
                reason=EndReason.TRANSFERRED,
                status=CallStatus.COMPLETED,
                metadata={"transferredTo": destination},
            )
        logger.info("Transferring %s call %s to %s", incoming.carrier, call.id, destination)
        return twiml.transfer(destination)
