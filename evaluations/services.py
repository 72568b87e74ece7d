"""Writes for agent testing: test cases, and starting test runs.

A run is created with one pending result per case (the case's definition copied in) and
executed after commit on Celery through the outbox (`evaluations.tasks.execute_test_run`),
or inline by the `run_agent_tests` command.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from agents.models import Agent, AgentVersion
from agents.selectors import agent_version_current
from agents.validation import ErrorList
from agents.versions import agent_as_of
from calls.services import simulation_llm_require
from morpheus import outbox
from morpheus.errors import ValidationFailed

from . import validation as v
from .models import CaseVerdict, TestCase, TestCaseKind, TestCaseResult, TestRun, TestRunTrigger

# API names of a test case's fields (what `data` holds).
CASE_FIELDS = frozenset({"name", "turns", "toolMocks", "variables", "simulatedCaller"})


def test_case_definition(case: TestCase) -> dict[str, Any]:
    """The case as the API shows it, and as a run's result keeps it."""
    definition: dict[str, Any] = {
        "kind": case.kind,
        "turns": case.turns,
        "toolMocks": case.tool_mocks,
        "variables": case.variables,
    }
    if case.kind == TestCaseKind.SIMULATED:
        definition["simulatedCaller"] = {"persona": case.persona, "goal": case.goal, "maxTurns": case.max_turns}
    return definition


def test_case_validate(*, case: TestCase, data: dict[str, Any]) -> None:
    """Applies `data` (API names; absent keys keep their value) to the in-memory case and
    validates the whole case against its agent's tools. Raises ValidationError."""
    unknown = set(data) - CASE_FIELDS
    if unknown:
        raise TypeError(f"Not test case fields: {', '.join(sorted(unknown))}")
    errors = ErrorList()
    tools, mockable = v.agent_tools(case.agent)
    creating = case._state.adding
    if creating and "name" not in data:
        errors.add("name", "This field is required.")
    if "name" in data:
        name = v._text(errors, "name", data["name"], max_length=v.NAME_MAX)
        if name is not None:
            case.name = name
    if "simulatedCaller" in data and data["simulatedCaller"] is not None:
        caller = v.clean_simulated_caller(errors, data["simulatedCaller"])
        if data.get("turns"):
            errors.add("turns", "A simulated-caller case has no scripted turns")
        if caller:
            case.kind = TestCaseKind.SIMULATED
            case.persona, case.goal, case.max_turns = caller["persona"], caller["goal"], caller["max_turns"]
            case.turns = []
    elif "turns" in data or (creating and case.kind == TestCaseKind.SCRIPTED):
        case.turns = v.clean_turns(errors, data.get("turns"), tools)
        case.kind = TestCaseKind.SCRIPTED
        case.persona, case.goal = "", ""
    elif case.kind == TestCaseKind.SCRIPTED:
        # Tools may have changed since: the stored turns must still name real tools.
        v.clean_turns(errors, case.turns, tools)
    if "toolMocks" in data:
        case.tool_mocks = v.clean_tool_mocks(errors, data["toolMocks"], mockable)
    if "variables" in data:
        case.variables = v.clean_variables(errors, data["variables"])
    errors.raise_if_any()


@transaction.atomic
def test_case_create(*, agent: Agent, data: dict[str, Any], actor: User | None = None) -> TestCase:
    case = TestCase(
        customer_id=agent.customer_id, agent=agent, created_by=actor if getattr(actor, "pk", None) else None
    )
    test_case_validate(case=case, data=data)
    case.save()
    return case


@transaction.atomic
def test_case_update(*, case: TestCase, data: dict[str, Any]) -> TestCase:
    test_case_validate(case=case, data=data)
    case.save()
    return case


@transaction.atomic
def test_case_delete(*, case: TestCase) -> None:
    # Past results keep their copy of the definition (test_case becomes null).
    case.delete()


def _resolve_version(agent: Agent, number: int | None) -> AgentVersion:
    if number is None:
        version = agent_version_current(agent_id=agent.pk)
        if version is None:  # an agent created before versions existed and never edited
            from agents.services import agent_version_record

            version = agent_version_record(agent=agent)
        return version
    version = AgentVersion.objects.filter(agent=agent, number=number).first()
    if version is None:
        raise ValidationFailed({"version": [f"Version {number} of agent {agent.pk} does not exist"]})
    return version


@transaction.atomic
def test_run_start(
    *,
    agent: Agent,
    test_case_ids: list[int] | None = None,
    version: int | None = None,
    actor: User | None = None,
    trigger: str = TestRunTrigger.API,
    enqueue: bool = True,
) -> TestRun:
    """Creates a run of `test_case_ids` (default: all the agent's cases) against version
    `version` (default: the latest) and, unless `enqueue` is false (the command runs it
    itself), queues it for Celery after commit. 400 for unknown cases or version; 503
    naming the variable to set when the version's language model has no credentials."""
    agent_version = _resolve_version(agent, version)
    all_cases = TestCase.objects.filter(agent=agent).order_by("id")
    cases: list[TestCase]
    if test_case_ids is not None:
        wanted = list(dict.fromkeys(test_case_ids))
        cases = list(all_cases.filter(pk__in=wanted))
        missing = sorted(set(wanted) - {c.pk for c in cases})
        if missing:
            raise ValidationFailed(
                {"testCaseIds": [f"Test cases of agent {agent.pk} not found: {', '.join(map(str, missing))}"]}
            )
    else:
        cases = list(all_cases)
    if not cases:
        raise ValidationFailed({"testCaseIds": [f"Agent {agent.pk} has no test cases to run"]})
    simulation_llm_require(agent=agent_as_of(agent, agent_version.snapshot))
    run = TestRun.objects.create(
        customer_id=agent.customer_id,
        agent=agent,
        version=agent_version,
        trigger=trigger,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    TestCaseResult.objects.bulk_create(
        TestCaseResult(run=run, test_case=case, name=case.name, definition=test_case_definition(case)) for case in cases
    )
    if enqueue:
        outbox.enqueue("evaluations.tasks.execute_test_run", run.pk)
    return run


def test_run_for_new_version(*, version_id: int) -> TestRun | None:
    """The automatic run of an agent's suite on a new version (agent.auto_run_tests). No
    cases: nothing to run. Its verdict is written on the version when the run finishes."""
    version = AgentVersion.objects.select_related("agent__llm_provider").filter(pk=version_id).first()
    if version is None or not version.agent.auto_run_tests:
        return None
    if TestRun.objects.filter(version=version, trigger=TestRunTrigger.NEW_VERSION).exists():
        return None  # a redelivered task: the run already exists
    if not TestCase.objects.filter(agent_id=version.agent_id).exists():
        return None
    try:
        run = test_run_start(
            agent=version.agent, version=version.number, trigger=TestRunTrigger.NEW_VERSION, enqueue=False
        )
    except Exception as exc:
        AgentVersion.objects.filter(pk=version.pk).update(test_verdict=CaseVerdict.ERROR)
        raise ValidationError(str(exc)) from exc
    AgentVersion.objects.filter(pk=version.pk).update(test_verdict="running")
    return run
