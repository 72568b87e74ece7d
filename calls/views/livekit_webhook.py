"""POST /webhooks/livekit: LiveKit's room webhooks keep phone calls' state true.

LiveKit signs each webhook with a JWT (our API key and secret) whose `sha256` claim is the
body's hash, sent in the Authorization header; livekit-api's WebhookReceiver checks both.
Point LiveKit's `webhook.urls` at this endpoint (docs/calls.md).
"""

import logging

from django.conf import settings
from google.protobuf.json_format import ParseError
from livekit import api
from rest_framework.exceptions import ParseError as DrfParseError
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from morpheus.api.responses import ok
from morpheus.api.throttling import AtomicScopedRateThrottle

from .. import schema
from ..livekit_client import livekit_configured
from ..recordings import recording_apply_egress
from ..services import call_apply_room_event

logger = logging.getLogger(__name__)


class LiveKitWebhook(APIView):
    success_messages = {
        "post": "Webhook processed",
    }
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AtomicScopedRateThrottle]
    throttle_scope = "webhook"

    @schema.live_kit_webhook_post
    def post(self, request):
        if not livekit_configured():
            raise PermissionDenied("LiveKit webhooks are not configured")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise DrfParseError()
        receiver = api.WebhookReceiver(api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET))
        try:
            event = receiver.receive(body, token)
        except ParseError:
            raise DrfParseError()
        except Exception:  # a bad JWT, a missing or mismatched body hash: all forged
            raise PermissionDenied("Invalid webhook signature")
        if event.event in ("egress_ended", "egress_updated") and event.HasField("egress_info"):
            call = recording_apply_egress(info=event.egress_info)
            logger.info("LiveKit %s for egress %s", event.event, event.egress_info.egress_id)
            return ok({"event": event.event, "callId": call.id if call else None})
        call = call_apply_room_event(
            event=event.event,
            room_name=event.room.name,
            participant_kind=event.participant.kind if event.HasField("participant") else None,
            participant=event.participant if event.HasField("participant") else None,
        )
        logger.info("LiveKit %s for room %s: %s", event.event, event.room.name, f"call {call.id}" if call else "no-op")
        return ok({"event": event.event, "callId": call.id if call else None})
