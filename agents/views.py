"""/agents and /providers: parse, call a service or selector, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.rows import rows, values_for
from morpheus.api.viewsets import TenantScopedViewSet

from . import examples, selectors, services
from .models import Agent, AgentVersion
from .serializers import (
    AgentCreateInput,
    AgentDeleteOutput,
    AgentDeleteQuery,
    AgentListItemOutput,
    AgentListQuery,
    AgentOutput,
    AgentPageOutput,
    AgentUpdateInput,
    AgentVersionListItemOutput,
    AgentVersionOutput,
    AgentVersionPageOutput,
    ProviderCatalogueOutput,
)

CONFLICT = OpenApiResponse(description="In use: assigned to phone numbers, or on a ringing/active call")


@extend_schema(tags=["agents"])
class AgentViewSet(TenantScopedViewSet):
    # Members build and test agents, so every tenant role may create, edit and delete
    # them; detaching phone numbers on delete is a phone-number write (owners/admins).

    queryset = Agent.objects.all()
    serializer_class = AgentOutput
    list_key = "agents"
    not_found_label = "Agent"
    agent_field = "pk"  # agent-restricted API keys see only their agents' rows
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    success_messages = {
        "list": "Agents retrieved successfully",
        "retrieve": "Agent retrieved successfully",
    }

    def safely_get_queryset(self, queryset):
        return selectors.agent_with_providers(queryset)

    @extend_schema(
        summary="List agents",
        parameters=[AgentListQuery],
        responses=AgentPageOutput,
        examples=[examples.AGENT_LIST],
    )
    def list(self, request):
        query = AgentListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        agents = selectors.agent_filter(self.get_queryset(), **query.validated_data)
        # Only the columns the list shows, as plain rows (morpheus/api/rows.py): no long
        # texts or JSON configuration read, no model instance per agent and provider.
        page = self.paginate_queryset(values_for(agents, AgentListItemOutput))
        return self.get_paginated_response(rows(page, AgentListItemOutput))

    @extend_schema(
        summary="Create an agent (starts as draft)",
        request=AgentCreateInput,
        responses={201: AgentOutput},
        examples=[
            examples.AGENT_CREATE_REQUEST,
            examples.AGENT_CREATE_FULL_REQUEST,
            examples.AGENT_CREATE_RESPONSE,
        ],
    )
    def create(self, request):
        body = AgentCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        agent = services.agent_create(customer=request.user.customer, data=body.validated_data, author=request.user)
        return created(AgentOutput(agent).data, "Agent created successfully")

    @extend_schema(summary="Get an agent", responses=AgentOutput, examples=[examples.AGENT_RESPONSE])
    def retrieve(self, request, pk=None):
        return ok(AgentOutput(self.get_object()).data, "Agent retrieved successfully")

    @extend_schema(
        summary="Update an agent (partial)",
        request=AgentUpdateInput,
        responses=AgentOutput,
        examples=[examples.AGENT_UPDATE_REQUEST, examples.AGENT_UPDATE_RESPONSE],
    )
    def partial_update(self, request, pk=None):
        agent = self.get_object()
        body = AgentUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        agent = services.agent_update(agent=agent, data=body.validated_data, author=request.user)
        return ok(AgentOutput(agent).data, "Agent updated successfully")

    @extend_schema(
        summary="Delete an agent",
        description=(
            "Refused with 409 while a call is ringing or active with the agent, and while phone numbers "
            "route to it unless `detachNumbers=true` (owners and admins), which unassigns them first."
        ),
        parameters=[AgentDeleteQuery],
        responses={200: AgentDeleteOutput, 409: CONFLICT},
        examples=[examples.AGENT_DELETE_RESPONSE],
    )
    def destroy(self, request, pk=None):
        query = AgentDeleteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        detach = query.validated_data["detachNumbers"]
        if detach and request.user.role not in MANAGER_ROLES:
            raise PermissionDenied()
        agent = self.get_object()
        agent_id = agent.pk
        detached = services.agent_delete(agent=agent, detach_numbers=detach)
        return ok({"id": agent_id, "detachedPhoneNumberIds": detached}, "Agent deleted successfully")


@extend_schema(tags=["Agent versions"])
class AgentVersionViewSet(TenantScopedViewSet):
    """/agents/{agentId}/versions: an agent's immutable configuration snapshots. Every
    change to its behaviour (prompt, first message, models, voice, tools, settings) made
    through the API or the admin records the next version."""

    queryset = AgentVersion.objects.all()
    agent_field = "agent"  # agent-restricted API keys see only their agents' versions
    serializer_class = AgentVersionOutput
    list_key = "versions"
    success_messages = {"list": "Agent versions retrieved successfully"}
    lookup_field = "number"
    lookup_url_kwarg = "number"

    def safely_get_queryset(self, queryset):
        return queryset.filter(agent_id=self.kwargs["agent_id"]).select_related("created_by").order_by("-number")

    def _agent(self) -> Agent:
        queryset = selectors.agent_with_providers(Agent.objects.all())
        return self.get_parent_object(queryset, self.kwargs["agent_id"], label="Agent")

    def not_found_message(self, value) -> str:
        return f"Version {value} of agent {self.kwargs['agent_id']} does not exist"

    @extend_schema(summary="List an agent's versions (newest first)", responses=AgentVersionPageOutput)
    def list(self, request, agent_id=None):
        self._agent()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AgentVersionListItemOutput(page, many=True).data)

    @extend_schema(summary="Get one version with its snapshot", responses=AgentVersionOutput)
    def retrieve(self, request, agent_id=None, number=None):
        self._agent()
        return ok(AgentVersionOutput(self.get_object()).data, "Agent version retrieved successfully")

    @extend_schema(
        summary="Restore a version",
        description=(
            "Makes version n the agent's configuration again, recorded as a new version equal to n "
            "(`restoredFrom: n`). The snapshot is validated like any edit: a provider disabled since is a 400."
        ),
        request=None,
        responses={201: AgentVersionOutput},
    )
    def restore(self, request, agent_id=None, number=None):
        agent = self._agent()
        version = services.agent_version_restore(agent=agent, number=int(number), author=request.user)
        return created(AgentVersionOutput(version).data, "Agent version restored successfully")


@extend_schema(
    tags=["agents"],
    summary="The provider catalogue",
    description=(
        "The active LLM, STT and TTS providers an agent may use, with the models and voices each offers. "
        "An empty `models` or `voices` list means the vendor has no fixed list and any name is accepted."
    ),
    responses=ProviderCatalogueOutput,
    examples=[examples.PROVIDERS_RESPONSE],
)
class ProviderCatalogueView(APIView):
    # Not tenant data: any signed-in user may read it (the dashboard's pickers).

    permission_classes = [IsAuthenticated]

    def get(self, request):
        catalogue = selectors.provider_catalogue()
        return ok(ProviderCatalogueOutput(catalogue).data, "Providers retrieved successfully")
