"""Test cases and runs in the platform admin: same validation as the API, readable results."""

import json

import pytest

from agents.selectors import agent_version_current
from evaluations import services
from evaluations.models import TestCase, TestCaseResult, TestRun

pytestmark = pytest.mark.django_db


def case_form(agent, **overrides):
    return {
        "agent": str(agent.pk),
        "name": "Admin case",
        "kind": "scripted",
        "turns": json.dumps([{"user": "hi", "expect": {"contains": ["hello"]}}]),
        "tool_mocks": "[]",
        "variables": "{}",
        "persona": "",
        "goal": "",
        "max_turns": "6",
        **overrides,
    }


def test_an_admin_creates_a_test_case_through_the_services_validation(admin_client, agent, platform_admin):
    response = admin_client.post("/admin/evaluations/testcase/add/", case_form(agent))
    assert response.status_code == 302, response.content.decode()[:2000]
    case = TestCase.objects.get()
    assert (case.customer_id, case.created_by, case.turns[0]["expect"]) == (
        agent.customer_id,
        platform_admin,
        {"contains": ["hello"]},
    )

    bad = case_form(agent, turns=json.dumps([{"user": "hi", "expect": {"regex": "("}}]))
    response = admin_client.post("/admin/evaluations/testcase/add/", bad)
    assert response.status_code == 200
    assert "Invalid regular expression" in response.content.decode()
    assert TestCase.objects.count() == 1


def test_a_run_page_shows_each_case_readably(admin_client, agent):
    case = services.test_case_create(agent=agent, data={"name": "Greets", "turns": [{"user": "hi"}]})
    run = TestRun.objects.create(
        customer=agent.customer, agent=agent, version=agent_version_current(agent_id=agent.pk), status="failed"
    )
    TestCaseResult.objects.create(
        run=run,
        test_case=case,
        name="Greets",
        verdict="fail",
        failure={"message": "Turn 1: the reply does not contain 'hello'", "expected": "hello", "actual": "Go away"},
        judgments=[{"turn": 1, "criteria": "Is polite", "verdict": "fail", "reasoning": "It is rude."}],
        transcript=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Go away"}],
        unmocked_tools=["lookup_order"],
    )

    page = admin_client.get(f"/admin/evaluations/testrun/{run.pk}/change/").content.decode()

    for text in ("Turn 1: the reply does not contain", "It is rude.", "Go away", "lookup_order", "Greets"):
        assert text in page
    assert admin_client.get("/admin/evaluations/testrun/").status_code == 200
    assert admin_client.get("/admin/evaluations/testcase/").status_code == 200
