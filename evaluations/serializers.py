"""Shapes of the agent-testing API. Inputs check JSON types only; the rules live in
`evaluations.validation` (so the admin enforces the same ones)."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from agents.serializers import PaginationOutput

from .models import CaseVerdict, TestCaseKind, TestRunStatus, TestRunTrigger
from .services import test_case_definition

EXPECT_SCHEMA = {
    "type": "object",
    "description": "Every expectation given must hold for the turn to pass.",
    "properties": {
        "toolCall": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "example": "lookup_order"},
                "arguments": {"type": "object", "description": "Subset match on the call's arguments."},
            },
        },
        "contains": {"type": "array", "items": {"type": "string"}, "description": "Case-insensitive."},
        "notContains": {"type": "array", "items": {"type": "string"}},
        "regex": {"type": "string", "description": "Python regular expression searched in the reply."},
        "judge": {"type": "string", "description": "What the reply must achieve; an LLM judge decides."},
    },
}
TURNS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["user"],
        "properties": {"user": {"type": "string", "example": "Where is my order A1?"}, "expect": EXPECT_SCHEMA},
    },
}
MOCKS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["tool", "result"],
        "properties": {
            "tool": {"type": "string", "description": "A custom function of the agent, or transfer_call."},
            "match": {"type": "object", "description": "Arguments a call must have (subset) to get this result."},
            "result": {"description": "What the tool returns to the model (any JSON)."},
        },
    },
}
CALLER_SCHEMA = {
    "type": "object",
    "required": ["persona", "goal"],
    "properties": {
        "persona": {"type": "string", "example": "An impatient customer whose parcel is late"},
        "goal": {"type": "string", "example": "Find out when order A1 will arrive"},
        "maxTurns": {"type": "integer", "minimum": 1, "maximum": 20, "default": 6},
    },
}


@extend_schema_field(TURNS_SCHEMA)
class TurnsField(serializers.JSONField):
    pass


@extend_schema_field(MOCKS_SCHEMA)
class MocksField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}, "example": {"name": "Ada"}})
class VariablesField(serializers.JSONField):
    pass


@extend_schema_field({**CALLER_SCHEMA, "nullable": True})
class CallerField(serializers.JSONField):
    pass


class TestCaseInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    turns = TurnsField(required=False, help_text="Scripted turns; or use simulatedCaller instead.")
    toolMocks = MocksField(required=False)
    variables = VariablesField(required=False, help_text="Values for {{name}} placeholders in the prompt.")
    simulatedCaller = CallerField(required=False, help_text="An LLM plays the caller; a judge checks the goal.")


class TestCaseUpdateInput(TestCaseInput):
    name = serializers.CharField(max_length=120, required=False)


class TestCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    agentId = serializers.IntegerField(source="agent_id")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=TestCaseKind.choices)
    turns = TurnsField()
    toolMocks = MocksField(source="tool_mocks")
    variables = VariablesField()
    simulatedCaller = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema_field({**CALLER_SCHEMA, "nullable": True})
    def get_simulatedCaller(self, case):
        return test_case_definition(case).get("simulatedCaller")


@extend_schema_serializer(many=False)
class TestCasePageOutput(serializers.Serializer):
    testCases = TestCaseOutput(many=True)
    pagination = PaginationOutput()


class TestRunInput(serializers.Serializer):
    testCaseIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=200,
        help_text="Default: all the agent's test cases.",
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text="Default: the latest version.")


class TestRunListItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    agentId = serializers.IntegerField(source="agent_id")
    version = serializers.IntegerField(source="version.number")
    status = serializers.ChoiceField(choices=TestRunStatus.choices)
    trigger = serializers.ChoiceField(choices=TestRunTrigger.choices)
    passed = serializers.IntegerField(source="passed_count")
    failed = serializers.IntegerField(source="failed_count")
    errors = serializers.IntegerField(source="error_count")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)


class CaseResultOutput(serializers.Serializer):
    testCaseId = serializers.IntegerField(source="test_case_id", allow_null=True)
    name = serializers.CharField()
    verdict = serializers.ChoiceField(choices=CaseVerdict.choices)
    failure = serializers.JSONField(
        allow_null=True,
        help_text="The first failing expectation: {turn, expectation, expected, actual, message, reasoning?}.",
    )
    judgments = serializers.JSONField(help_text="[{turn, criteria, verdict, reasoning}] of every judge asked.")
    transcript = serializers.JSONField(help_text="[{role, content, toolName, toolPayload, latency, usage}]")
    unmockedTools = serializers.JSONField(
        source="unmocked_tools", help_text="Custom functions the agent tried without a matching mock (not called)."
    )
    errorMessage = serializers.CharField(source="error_message")
    definition = serializers.JSONField(help_text="The test case as it was when the run started.")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)


class TestRunOutput(TestRunListItemOutput):
    results = CaseResultOutput(many=True)


@extend_schema_serializer(many=False)
class TestRunPageOutput(serializers.Serializer):
    testRuns = TestRunListItemOutput(many=True)
    pagination = PaginationOutput()
