"""`POST /calls/:id/messages`: talk to a simulation call's agent in text."""

from rest_framework.decorators import action

from calls.models import Call
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from . import schema
from .serializers import MessageInput, MessageOutput
from .simulation import simulation_message_send


class CallMessagesViewSet(TenantScopedViewSet):
    success_messages = {"messages": "Message processed successfully"}
    queryset = Call.objects.all()
    not_found_label = "Call"
    agent_field = "agent"  # agent-restricted API keys see only their agents' rows
    serializer_class = MessageInput

    @schema.messages
    @action(detail=True, methods=["post"], url_path="messages")
    def messages(self, request, pk=None):
        call = self.get_object()
        message = MessageInput(data=request.data)
        message.is_valid(raise_exception=True)
        result = simulation_message_send(call=call, content=message.validated_data["content"])
        return ok(MessageOutput(result).data)
