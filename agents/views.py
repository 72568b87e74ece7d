"""/agents and /providers: parse, call a service or selector, render."""

from rest_framework import mixins
from rest_framework.exceptions import PermissionDenied

from accounts.models import MANAGER_ROLES
from morpheus.api.parsing import validated
from morpheus.api.responses import created, ok
from morpheus.api.rows import PreparedList, rows, values_for
from morpheus.api.viewsets import (
    CreateMixin,
    ListMixin,
    NestedMixin,
    PartialUpdateMixin,
    SignedInAPIView,
    TenantScopedViewSet,
)

from . import schema, selectors, services
from .models import Agent, AgentVersion
from .serializers import (
    AgentCreateInput,
    AgentDeleteQuery,
    AgentListItemOutput,
    AgentListQuery,
    AgentOutput,
    AgentUpdateInput,
    AgentVersionListItemOutput,
    AgentVersionOutput,
    ProviderCatalogueOutput,
)


def _agent_list(*, customer_id, status):
    agents = selectors.agent_with_providers(Agent.objects.filter(customer_id=customer_id))
    return selectors.agent_filter(agents, status=status)


# GET /agents without a name search (a LIKE pattern is not an exact parameter): the same
# rows, order and total as the ORM path below, without compiling SQL per request.
AGENT_LIST = PreparedList(
    _agent_list,
    AgentListItemOutput,
    customer_id=Agent._meta.get_field("customer"),
    status=Agent._meta.get_field("status"),
)


@schema.agent
class AgentViewSet(CreateMixin, mixins.RetrieveModelMixin, PartialUpdateMixin, TenantScopedViewSet):
    # Members build and test agents, so every tenant role may create, edit and delete
    # them; detaching phone numbers on delete is a phone-number write (owners/admins).

    queryset = Agent.objects.all()
    serializer_class = AgentOutput
    create_serializer_class = AgentCreateInput
    update_serializer_class = AgentUpdateInput
    list_key = "agents"
    not_found_label = "Agent"
    agent_field = "pk"  # agent-restricted API keys see only their agents' rows
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    success_messages = {
        "list": "Agents retrieved successfully",
        "retrieve": "Agent retrieved successfully",
        "create": "Agent created successfully",
        "partial_update": "Agent updated successfully",
        "destroy": "Agent deleted successfully",
    }

    def safely_get_queryset(self, queryset):
        return selectors.agent_with_providers(queryset)

    def list(self, request):
        query = validated(AgentListQuery, request.query_params)
        customer_id = self.unrestricted_customer_id()
        if customer_id is not None and not query.get("search"):
            # The dashboard's usual read, on statements compiled once per process.
            source = AGENT_LIST.source(customer_id=customer_id, status=query.get("status"))
            return self.get_paginated_response(self.paginate_queryset(source))
        agents = selectors.agent_filter(self.get_queryset(), **query)
        # Only the columns the list shows, as plain rows (morpheus/api/rows.py): no long
        # texts or JSON configuration read, no model instance per agent and provider.
        page = self.paginate_queryset(values_for(agents, AgentListItemOutput))
        return self.get_paginated_response(rows(page, AgentListItemOutput))

    def create_object(self, data):
        return services.agent_create(customer=self.request.user.customer, data=data, actor=self.request.user)

    def update_object(self, agent, data):
        return services.agent_update(agent=agent, data=data, actor=self.request.user)

    def destroy(self, request, pk=None):
        query = validated(AgentDeleteQuery, request.query_params)
        detach = query["detachNumbers"]
        if detach and request.user.role not in MANAGER_ROLES:
            raise PermissionDenied()
        agent = self.get_object()
        agent_id = agent.pk
        detached = services.agent_delete(agent=agent, detach_numbers=detach)
        return ok({"id": agent_id, "detachedPhoneNumberIds": detached})


@schema.agent_version
class AgentVersionViewSet(NestedMixin, ListMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """/agents/{agentId}/versions: an agent's immutable configuration snapshots. Every
    change to its behaviour (prompt, first message, models, voice, tools, settings) made
    through the API or the admin records the next version."""

    queryset = AgentVersion.objects.all()
    agent_field = "agent"  # agent-restricted API keys see only their agents' versions
    serializer_class = AgentVersionOutput
    serializer_classes = {"list": AgentVersionListItemOutput}
    list_key = "versions"
    success_messages = {
        "list": "Agent versions retrieved successfully",
        "retrieve": "Agent version retrieved successfully",
        "restore": "Agent version restored successfully",
    }
    lookup_field = "number"
    lookup_url_kwarg = "number"
    parent_queryset = selectors.agent_with_providers(Agent.objects.all())
    parent_label = "Agent"  # 404 "Agent with ID 7 does not exist", also in the schema's examples

    def safely_get_queryset(self, queryset):
        return queryset.filter(agent_id=self.kwargs["agent_id"]).select_related("created_by").order_by("-number")

    def not_found_message(self, value) -> str:
        return f"Version {value} of agent {self.kwargs['agent_id']} does not exist"

    @schema.agent_version_restore
    def restore(self, request, agent_id=None, number=None):
        version = services.agent_version_restore(agent=self.parent, number=int(number), actor=request.user)
        return created(AgentVersionOutput(version).data)


@schema.provider_catalogue
class ProviderCatalogueView(SignedInAPIView):
    # Not tenant data: any signed-in user may read it (the dashboard's pickers).

    success_messages = {
        "get": "Providers retrieved successfully",
    }

    def get(self, request):
        catalogue = selectors.provider_catalogue()
        return ok(ProviderCatalogueOutput(catalogue).data)
