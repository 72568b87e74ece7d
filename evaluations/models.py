"""Saved agent test cases, and the runs that execute them against an agent version."""

from django.conf import settings
from django.db import models

from morpheus.models import TimestampedModel


class TestCaseKind(models.TextChoices):
    SCRIPTED = "scripted", "Scripted turns"
    SIMULATED = "simulated", "Simulated caller"


class TestCase(TimestampedModel):
    """One regression test of an agent: scripted turns with expectations, or a simulated
    caller (an LLM with a persona and a goal) judged on whether the goal was reached.
    The JSON documents are validated by `evaluations.validation` (API and admin alike)."""

    __test__ = False  # not a pytest class

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=TestCaseKind.choices, default=TestCaseKind.SCRIPTED)
    # [{user, expect: {toolCall: {name, arguments}, contains: [], notContains: [], regex, judge}}]
    turns = models.JSONField(default=list, blank=True)
    # [{tool, match: {argument subset}, result}]
    tool_mocks = models.JSONField(default=list, blank=True)
    # {name: value} for {{name}} placeholders in the prompt and first message.
    variables = models.JSONField(default=dict, blank=True)
    # The simulated caller.
    persona = models.TextField(blank=True, default="")
    goal = models.TextField(blank=True, default="")
    max_turns = models.PositiveSmallIntegerField(default=6)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["agent", "id"]
        indexes = [models.Index(fields=["customer", "agent", "id"], name="testcase_customer_agent_idx")]

    def __str__(self):
        return self.name


class TestRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"


FINISHED_RUN_STATUSES = (TestRunStatus.PASSED, TestRunStatus.FAILED, TestRunStatus.ERROR)


class TestRunTrigger(models.TextChoices):
    API = "api", "API"
    COMMAND = "command", "run_agent_tests"
    NEW_VERSION = "new_version", "New agent version"


class TestRun(TimestampedModel):
    __test__ = False

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="test_runs")
    version = models.ForeignKey("agents.AgentVersion", on_delete=models.CASCADE, related_name="test_runs")
    status = models.CharField(max_length=10, choices=TestRunStatus.choices, default=TestRunStatus.QUEUED)
    trigger = models.CharField(max_length=12, choices=TestRunTrigger.choices, default=TestRunTrigger.API)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    passed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "agent", "-created_at"], name="testrun_customer_agent_idx")]

    def __str__(self):
        return f"Test run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN_STATUSES


class CaseVerdict(models.TextChoices):
    PENDING = "pending", "Pending"
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"


class TestCaseResult(models.Model):
    """One case of a run. The case's definition is copied in, so editing or deleting the
    test case later does not change what this run tested."""

    __test__ = False

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results")
    test_case = models.ForeignKey(TestCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="results")
    name = models.CharField(max_length=120)
    definition = models.JSONField(default=dict)
    verdict = models.CharField(max_length=10, choices=CaseVerdict.choices, default=CaseVerdict.PENDING)
    # The first failing expectation: {turn, expectation, expected, actual, message}.
    failure = models.JSONField(null=True, blank=True)
    # [{turn, criteria, verdict, reasoning}]
    judgments = models.JSONField(default=list, blank=True)
    # [{role, content, toolName, toolPayload, latency: {...}, usage: {...}}]
    transcript = models.JSONField(default=list, blank=True)
    # Custom functions the agent tried to call without a matching mock (not called).
    unmocked_tools = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.name}: {self.verdict}"
