"""/agents/{id}/test-cases, /test-cases/{id}, /agents/{id}/test-runs, /test-runs/{id}."""

from rest_framework import mixins

from agents.models import Agent
from agents.selectors import agent_with_providers
from morpheus.api.parsing import validated
from morpheus.api.responses import ok
from morpheus.api.viewsets import (
    CreateMixin,
    DestroyMixin,
    ListMixin,
    NestedMixin,
    PartialUpdateMixin,
    TenantScopedViewSet,
)

from . import schema, selectors, services
from .models import TestCase, TestRun
from .serializers import (
    TestCaseInput,
    TestCaseOutput,
    TestCaseUpdateInput,
    TestRunInput,
    TestRunListItemOutput,
    TestRunOutput,
)


class UnderAgentMixin(NestedMixin):
    """The agent in the path, of the user's own tenant: another tenant's is a 404."""

    parent_queryset = agent_with_providers(Agent.objects.all())
    parent_label = "Agent"  # 404 "Agent with ID 7 does not exist", also in the schema's examples
    agent_field = "agent"


@schema.agent_test_case
class AgentTestCaseViewSet(UnderAgentMixin, ListMixin, CreateMixin, TenantScopedViewSet):
    queryset = TestCase.objects.all()
    serializer_class = TestCaseOutput
    create_serializer_class = TestCaseInput
    list_key = "testCases"
    success_messages = {
        "list": "Test cases retrieved successfully",
        "create": "Test case created successfully",
    }

    def safely_get_queryset(self, queryset):
        return selectors.test_cases_of(queryset, self.kwargs["agent_id"])

    def create_object(self, data):
        return services.test_case_create(agent=self.parent, data=data, actor=self.request.user)


@schema.test_case
class TestCaseViewSet(mixins.RetrieveModelMixin, PartialUpdateMixin, DestroyMixin, TenantScopedViewSet):
    success_messages = {
        "retrieve": "Test case retrieved successfully",
        "partial_update": "Test case updated successfully",
        "destroy": "Test case deleted successfully",
    }
    queryset = TestCase.objects.all()
    agent_field = "agent"
    serializer_class = TestCaseOutput
    update_serializer_class = TestCaseUpdateInput
    not_found_label = "Test case"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("agent")

    def update_object(self, case, data):
        return services.test_case_update(case=case, data=data)

    def destroy_object(self, case):
        services.test_case_delete(case=case)


@schema.agent_test_run
class AgentTestRunViewSet(UnderAgentMixin, ListMixin, TenantScopedViewSet):
    queryset = TestRun.objects.all()
    serializer_class = TestRunListItemOutput
    list_key = "testRuns"
    success_messages = {
        "list": "Test runs retrieved successfully",
        "create": "Test run started",
    }

    def safely_get_queryset(self, queryset):
        return selectors.test_runs_of(queryset, self.kwargs["agent_id"])

    def create(self, request, agent_id=None):
        body = validated(TestRunInput, request.data)
        run = services.test_run_start(
            agent=self.parent,
            test_case_ids=body.get("testCaseIds"),
            version=body.get("version"),
            actor=request.user,
        )
        run.refresh_from_db()
        return ok(TestRunListItemOutput(run).data, status=202)


@schema.test_run
class TestRunViewSet(mixins.RetrieveModelMixin, TenantScopedViewSet):
    success_messages = {
        "retrieve": "Test run retrieved successfully",
    }
    queryset = TestRun.objects.all()
    agent_field = "agent"
    serializer_class = TestRunOutput
    not_found_label = "Test run"

    def safely_get_queryset(self, queryset):
        return selectors.test_run_with_results(queryset)
