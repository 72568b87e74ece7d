"""The simulated caller (an LLM plays the caller, a judge decides on the goal), and the
`run_agent_tests` command customers run in CI (exit status, JUnit report)."""

import io
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluations import services
from evaluations.models import TestRun
from voice_worker.tests.servers import ChatReply

from .conftest import CALLER_MARK, last_user, system_prompt, verdict

pytestmark = pytest.mark.django_db

CALLER = {"persona": "A customer in a hurry", "goal": "Learn whether order A1 has shipped", "maxTurns": 4}


def caller_script(lines):
    """The simulated caller's model: says `lines` in order (then it would say [DONE])."""
    said = iter(lines)
    return lambda request: ChatReply(text=next(said, "[DONE]"))


def test_a_simulated_caller_reaches_its_goal(agent, llm_server, script):
    script.caller = caller_script(["Has my order A1 shipped?", "Great, thanks!"])
    script.agent = lambda request: ChatReply(text=f"About '{last_user(request)}': yes, it shipped.")
    script.judge = lambda request: verdict("pass", "The agent confirmed the shipment.")
    case = services.test_case_create(agent=agent, data={"name": "Shipped?", "simulatedCaller": CALLER})

    out = io.StringIO()
    call_command("run_agent_tests", agent=agent.pk, stdout=out)

    run = TestRun.objects.get()
    result = run.results.get()
    assert (run.status, run.trigger, result.verdict, result.test_case_id) == ("passed", "command", "pass", case.pk)
    # The caller saw its persona and goal, and the agent's greeting as what it heard.
    first_caller = script.seen["caller"][0]
    assert CALLER_MARK in system_prompt(first_caller) and "Learn whether order A1 has shipped" in system_prompt(
        first_caller
    )
    assert first_caller["messages"][1] == {"role": "user", "content": "Hi {{customer_name}}, Ada's shop here."}
    # Two caller lines, then [DONE]: two agent turns.
    said = [t["content"] for t in result.transcript if t["role"] == "user"]
    assert said == ["Has my order A1 shipped?", "Great, thanks!"]
    assert len(script.seen["caller"]) == 3
    # The judge was asked about the goal with the whole conversation.
    assert "Learn whether order A1 has shipped" in last_user(script.seen["judge"][0])
    assert "yes, it shipped" in last_user(script.seen["judge"][0])
    assert result.judgments == [
        {"turn": None, "criteria": CALLER["goal"], "verdict": "pass", "reasoning": "The agent confirmed the shipment."}
    ]
    assert "PASS  Shipped?" in out.getvalue()


def test_a_simulated_caller_whose_goal_is_missed_fails_with_the_judges_reasoning(agent, llm_server, script):
    script.caller = caller_script(["Has my order A1 shipped?"] * 10)
    script.agent = lambda request: ChatReply(text="I cannot help with orders.")
    script.judge = lambda request: verdict("fail", "The agent never answered about the order.")
    services.test_case_create(agent=agent, data={"name": "Shipped?", "simulatedCaller": CALLER})

    with pytest.raises(CommandError) as raised:
        call_command("run_agent_tests", agent=agent.pk, stdout=io.StringIO())

    result = TestRun.objects.get().results.get()
    assert result.verdict == "fail" and result.failure["expectation"] == "goal"
    assert result.failure["reasoning"] == "The agent never answered about the order."
    assert len([t for t in result.transcript if t["role"] == "user"]) == CALLER["maxTurns"]  # bounded
    assert raised.value.returncode == 1 and "failed: 0 passed, 1 failed" in str(raised.value)


def test_the_command_writes_junit_and_exits_non_zero_on_a_failure(agent, llm_server, script, tmp_path):
    script.agent = lambda request: ChatReply(text="Hello there")
    services.test_case_create(
        agent=agent, data={"name": "greets", "turns": [{"user": "hi", "expect": {"contains": ["hello"]}}]}
    )
    services.test_case_create(
        agent=agent, data={"name": "prices", "turns": [{"user": "price?", "expect": {"regex": r"\$\d+"}}]}
    )
    report = tmp_path / "agent-tests.xml"
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("run_agent_tests", agent=agent.pk, junit=str(report), stdout=out)

    assert raised.value.returncode == 1
    assert "PASS  greets" in out.getvalue()
    assert "FAIL  prices - Turn 1: the reply does not match /\\$\\d+/" in out.getvalue()
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["greets"].find("failure") is None
    assert cases["prices"].find("failure").get("type") == "regex"


def test_the_command_passes_with_exit_status_zero(agent, llm_server, script):
    script.agent = lambda request: ChatReply(text="Hello there")
    services.test_case_create(
        agent=agent, data={"name": "greets", "turns": [{"user": "hi", "expect": {"contains": ["hello"]}}]}
    )
    out = io.StringIO()
    call_command("run_agent_tests", agent=agent.pk, version=1, stdout=out)
    assert "passed: 1 passed, 0 failed, 0 errors" in out.getvalue()


def test_the_command_refuses_unknown_agents_versions_and_a_missing_llm(agent, settings):
    with pytest.raises(CommandError, match="Agent with ID 999999 does not exist"):
        call_command("run_agent_tests", agent=999999)
    services.test_case_create(agent=agent, data={"name": "x", "turns": [{"user": "hi"}]})
    with pytest.raises(CommandError, match=f"Version 5 of agent {agent.pk} does not exist"):
        call_command("run_agent_tests", agent=agent.pk, version=5)
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    with pytest.raises(CommandError, match="OPENAI_API_KEY"):
        call_command("run_agent_tests", agent=agent.pk)
    assert TestRun.objects.count() == 0
