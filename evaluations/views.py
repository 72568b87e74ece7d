"""/agents/{id}/test-cases, /test-cases/{id}, /agents/{id}/test-runs, /test-runs/{id}."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from agents.models import Agent
from agents.selectors import agent_with_providers
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet

from . import selectors, services
from .models import TestCase, TestRun
from .serializers import (
    TestCaseInput,
    TestCaseOutput,
    TestCasePageOutput,
    TestCaseUpdateInput,
    TestRunInput,
    TestRunListItemOutput,
    TestRunOutput,
    TestRunPageOutput,
)

NO_LLM = OpenApiResponse(description="The agent version's language model has no credentials (names the variable).")


class AgentScopedMixin:
    """The agent in the path, of the user's own tenant: another tenant's is a 404."""

    parent_label = "Agent"  # 404 "Agent with ID 7 does not exist", also in the schema's examples

    def agent(self) -> Agent:
        queryset = agent_with_providers(Agent.objects.all())
        return self.get_parent_object(queryset, self.kwargs["agent_id"], label=self.parent_label)


@extend_schema(tags=["agent-testing"])
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

    @extend_schema(summary="List an agent's test cases", responses=TestCasePageOutput)
    def list(self, request, agent_id=None):
        self.agent()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TestCaseOutput(page, many=True).data)

    @extend_schema(
        summary="Create a test case",
        description=(
            "Scripted: `turns` of `{user, expect}` where `expect` may hold `toolCall {name, arguments (subset)}`, "
            "`contains`, `notContains`, `regex` and `judge` (what the reply must achieve, decided by an LLM judge). "
            "Or a simulated caller: `simulatedCaller {persona, goal, maxTurns}` (an LLM plays the caller, a judge "
            "decides whether the goal was reached). `toolMocks [{tool, match, result}]` replace the agent's custom "
            "functions and transfer_call during runs; `variables` fill `{{name}}` in the prompt and first message. "
            "A bad regex, an empty judge, or a toolCall/mock naming a tool the agent does not have is a 400."
        ),
        request=TestCaseInput,
        responses={201: TestCaseOutput},
    )
    def create(self, request, agent_id=None):
        agent = self.agent()
        body = TestCaseInput(data=request.data)
        body.is_valid(raise_exception=True)
        case = services.test_case_create(agent=agent, data=dict(body.validated_data), actor=request.user)
        return created(TestCaseOutput(case).data)


@extend_schema(tags=["agent-testing"])
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

    @extend_schema(summary="Get a test case")
    def retrieve(self, request, pk=None):
        return ok(TestCaseOutput(self.get_object()).data)

    @extend_schema(summary="Update a test case (partial)", request=TestCaseUpdateInput, responses=TestCaseOutput)
    def partial_update(self, request, pk=None):
        case = self.get_object()
        body = TestCaseUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        case = services.test_case_update(case=case, data=dict(body.validated_data))
        return ok(TestCaseOutput(case).data)

    @extend_schema(summary="Delete a test case (past results keep their copy)", responses={200: None})
    def destroy(self, request, pk=None):
        case = self.get_object()
        case_id = case.pk
        services.test_case_delete(case=case)
        return ok({"id": case_id})


@extend_schema(tags=["agent-testing"])
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

    @extend_schema(summary="List an agent's test runs (newest first)", responses=TestRunPageOutput)
    def list(self, request, agent_id=None):
        self.agent()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TestRunListItemOutput(page, many=True).data)

    @extend_schema(
        summary="Start a test run",
        description=(
            "Runs `testCaseIds` (default: all the agent's cases) against agent version `version` (default: the "
            "latest) on Celery, cases in parallel (EVALUATIONS_MAX_PARALLEL_CASES at a time). Answers 202 at once "
            "with the run (`status: queued`); poll GET /test-runs/{id}. A model or judge that does not answer in "
            "time marks that case `error`."
        ),
        request=TestRunInput,
        responses={
            202: TestRunListItemOutput,
            400: OpenApiResponse(description="Unknown test cases or version, or no test cases."),
            503: NO_LLM,
        },
    )
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


@extend_schema(tags=["agent-testing"])
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

    @extend_schema(
        summary="Get a test run with every case's verdict",
        description=(
            "Per case: `verdict` pass/fail/error, the first failing expectation with expected vs actual, the "
            "judges' reasoning, the transcript with per-turn latency and usage, and the custom functions the agent "
            "tried without a mock (not called)."
        ),
    )
    def retrieve(self, request, pk=None):
        return ok(TestRunOutput(self.get_object()).data)
