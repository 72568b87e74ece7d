"""POST /calls/outbound: place one outbound call through the tenant's SIP trunk."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created
from morpheus.api.viewsets import TenantScopedAPIView

from .outbound import OutboundRequest, call_create_outbound
from .serializers import CallListItem


class OutboundCallInput(serializers.Serializer):
    agentId = serializers.IntegerField(min_value=1, help_text="An active agent of your organization")
    to = serializers.CharField(max_length=32, help_text="E.164; premium-rate and emergency numbers are refused")
    fromNumberId = serializers.IntegerField(
        min_value=1, help_text="Your phone number the call comes from; it must be on an outbound SIP trunk"
    )
    variables = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Values for the {{name}} placeholders of the agent's prompt and first message (all required).",
    )
    scheduledAt = serializers.DateTimeField(required=False, allow_null=True, help_text="Dial at (UTC if no offset)")


class OutboundCallView(TenantScopedAPIView):
    # Placing calls costs money: owners and admins.
    success_messages = {
        "post": "Outbound call queued successfully",
    }
    action_roles = {"post": MANAGER_ROLES}

    @extend_schema(
        tags=["calls"],
        summary="Place an outbound call",
        description=(
            "Creates the call `queued` (direction `outbound`) and dials it at `scheduledAt` or now, as soon as "
            "a capacity slot is free: `ringing` while LiveKit dials through the number's SIP trunk, `active` "
            "once answered, then `completed`, `busy`, `no_answer` or `failed` with the end reason. "
            "Owners and admins."
        ),
        request=OutboundCallInput,
        responses={
            201: CallListItem,
            400: OpenApiResponse(description="Validation failed: each bad field named (`variables.<name>`)"),
        },
    )
    def post(self, request):
        body = OutboundCallInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        call = call_create_outbound(
            customer_id=request.user.customer_id,
            user=request.user,
            request=OutboundRequest(
                agent_id=data["agentId"],
                to=data["to"],
                from_number_id=data["fromNumberId"],
                variables=data.get("variables"),
                scheduled_at=data.get("scheduledAt"),
            ),
        )
        call.refresh_from_db()
        return created(CallListItem(call).data)
