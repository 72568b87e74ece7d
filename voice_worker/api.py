"""`POST /calls/:id/messages`: talk to a simulation call's agent in text."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.decorators import action

from calls.models import Call
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from .serializers import MessageInput, MessageOutput
from .simulation import simulation_message_send

MESSAGE_SENT = "Message processed successfully"


class CallMessagesViewSet(TenantScopedViewSet):
    queryset = Call.objects.all()
    not_found_label = "Call"
    serializer_class = MessageInput

    @extend_schema(
        operation_id="calls_messages_create",
        summary="Send a text message to a simulation call's agent",
        description=(
            "Runs one conversational turn of the call's agent — the same logic the voice worker runs on the "
            "phone: its system prompt, first message, tools (end_call, transfer_call, custom functions), "
            "end-call phrases and the transcript so far — with the LLM provider it is configured with. The "
            "caller's message and everything the agent did about it are stored in the transcript together, "
            "only once the model has answered. The first message of a simulation also stores the agent's "
            "greeting. If the agent ends or transfers the call, the call is closed and `status`/`endReason` "
            "say so. Any tenant member may use it."
        ),
        tags=["Call Simulation"],
        request=MessageInput,
        responses={
            200: MessageOutput,
            409: OpenApiResponse(
                description="Not a simulation call, the call has ended, its agent was deleted, or the agent is "
                "still answering the previous message."
            ),
            503: OpenApiResponse(description="The agent's LLM provider has no credentials or is unreachable."),
        },
        examples=[
            OpenApiExample("Caller message", value={"content": "Hi, what are your opening hours?"}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"], url_path="messages")
    def messages(self, request, pk=None):
        call = self.get_object()
        message = MessageInput(data=request.data)
        message.is_valid(raise_exception=True)
        result = simulation_message_send(call=call, content=message.validated_data["content"])
        return ok(MessageOutput(result).data, MESSAGE_SENT)
