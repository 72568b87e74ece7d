"""OpenAPI documentation of agent test cases and test runs, kept out of the views."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from calls.schema import NO_LLM_EXAMPLE
from morpheus.api.schema import error, resource_views

from .serializers import (
    TestCaseInput,
    TestCaseOutput,
    TestCasePageOutput,
    TestCaseUpdateInput,
    TestRunInput,
    TestRunListItemOutput,
    TestRunPageOutput,
)

NO_LLM = error(
    503,
    NO_LLM_EXAMPLE,
    description="The agent version's language model has no credentials (names the variable).",
)

agent_test_case = resource_views("agent-testing", globals(), "agent_test_case_")

agent_test_case_list = extend_schema(summary="List an agent's test cases", responses=TestCasePageOutput)

agent_test_case_create = extend_schema(
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

test_case = resource_views("agent-testing", globals(), "test_case_")

test_case_retrieve = extend_schema(summary="Get a test case")

test_case_partial_update = extend_schema(
    summary="Update a test case (partial)", request=TestCaseUpdateInput, responses=TestCaseOutput
)

test_case_destroy = extend_schema(summary="Delete a test case (past results keep their copy)", responses={200: None})

agent_test_run = resource_views("agent-testing", globals(), "agent_test_run_")

agent_test_run_list = extend_schema(summary="List an agent's test runs (newest first)", responses=TestRunPageOutput)

agent_test_run_create = extend_schema(
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

test_run = resource_views("agent-testing", globals(), "test_run_")

test_run_retrieve = extend_schema(
    summary="Get a test run with every case's verdict",
    description=(
        "Per case: `verdict` pass/fail/error, the first failing expectation with expected vs actual, the "
        "judges' reasoning, the transcript with per-turn latency and usage, and the custom functions the agent "
        "tried without a mock (not called)."
    ),
)
