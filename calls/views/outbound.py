"""POST /calls/outbound: place one outbound call through the tenant's SIP trunk."""

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created
from morpheus.api.viewsets import TenantScopedAPIView

from .. import schema
from ..outbound import OutboundRequest, call_create_outbound
from ..serializers import CallListItem, OutboundCallInput


class OutboundCallView(TenantScopedAPIView):
    # Placing calls costs money: owners and admins.
    success_messages = {
        "post": "Outbound call queued successfully",
    }
    action_roles = {"post": MANAGER_ROLES}

    @schema.outbound_call_post
    def post(self, request):
        body = OutboundCallInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        call = call_create_outbound(
            customer_id=request.user.customer_id,
            actor=request.user,
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
