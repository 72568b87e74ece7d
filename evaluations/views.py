"""/agents/{id}/test-cases, /test-cases/{id}, /agents/{id}/test-runs, /test-runs/{id}."""

from agents.models import Agent
from agents.selectors import agent_with_providers
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet

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


class AgentScopedMixin:
    """The agent in the path, of the user's own tenant: another tenant's is a 404."""

    parent_label = "Agent"  # 404 "Agent with ID 7 does not exist", also in the schema's examples

    def agent(self) -> Agent:
        queryset = agent_with_providers(Agent.objects.all())
        return self.get_parent_object(queryset, self.kwargs["agent_id"], label=self.parent_label)


@schema.agent_test_case
class AgentTestCaseViewSet(AgentScopedMixin, TenantScopedViewSet):
    queryset = TestCase.objects.all()
    agent_field = "agent"
    serializer_class = TestCaseOutput
    list_key = "testCases"
    success_messages = {
        "list": "Test cases retrieved successfully",
        "create": "Test case created successfully",
    }

    def safely_get_queryset(self, queryset):
        return selectors.test_cases_of(queryset, self.kwargs["agent_id"])

    @schema.agent_test_case_list
    def list(self, request, agent_id=None):
        self.agent()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TestCaseOutput(page, many=True).data)

    @schema.agent_test_case_create
    def create(self, request, agent_id=None):
        agent = self.agent()
        body = TestCaseInput(data=request.data)
        body.is_valid(raise_exception=True)
        case = services.test_case_create(agent=agent, data=dict(body.validated_data), actor=request.user)
        return created(TestCaseOutput(case).data)


@schema.test_case
class TestCaseViewSet(TenantScopedViewSet):
    success_messages = {
        "retrieve": "Test case retrieved successfully",
        "partial_update": "Test case updated successfully",
        "destroy": "Test case deleted successfully",
    }
    queryset = TestCase.objects.all()
    agent_field = "agent"
    serializer_class = TestCaseOutput
    not_found_label = "Test case"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("agent")

    @schema.test_case_retrieve
    def retrieve(self, request, pk=None):
        return ok(TestCaseOutput(self.get_object()).data)

    @schema.test_case_partial_update
    def partial_update(self, request, pk=None):
        case = self.get_object()
        body = TestCaseUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        case = services.test_case_update(case=case, data=dict(body.validated_data))
        return ok(TestCaseOutput(case).data)

    @schema.test_case_destroy
    def destroy(self, request, pk=None):
        case = self.get_object()
        case_id = case.pk
        services.test_case_delete(case=case)
        return ok({"id": case_id})


@schema.agent_test_run
class AgentTestRunViewSet(AgentScopedMixin, TenantScopedViewSet):
    queryset = TestRun.objects.all()
    agent_field = "agent"
    serializer_class = TestRunListItemOutput
    list_key = "testRuns"
    success_messages = {
        "list": "Test runs retrieved successfully",
        "create": "Test run started",
    }

    def safely_get_queryset(self, queryset):
        return selectors.test_runs_of(queryset, self.kwargs["agent_id"])

    @schema.agent_test_run_list
    def list(self, request, agent_id=None):
        self.agent()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TestRunListItemOutput(page, many=True).data)

    @schema.agent_test_run_create
    def create(self, request, agent_id=None):
        agent = self.agent()
        body = TestRunInput(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.test_run_start(
            agent=agent,
            test_case_ids=body.validated_data.get("testCaseIds"),
            version=body.validated_data.get("version"),
            actor=request.user,
        )
        run.refresh_from_db()
        return ok(TestRunListItemOutput(run).data, status=202)


@schema.test_run
class TestRunViewSet(TenantScopedViewSet):
    success_messages = {
        "retrieve": "Test run retrieved successfully",
    }
    queryset = TestRun.objects.all()
    agent_field = "agent"
    serializer_class = TestRunOutput
    not_found_label = "Test run"

    def safely_get_queryset(self, queryset):
        return selectors.test_run_with_results(queryset)

    @schema.test_run_retrieve
    def retrieve(self, request, pk=None):
        return ok(TestRunOutput(self.get_object()).data)
