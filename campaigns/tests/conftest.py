"""A campaign ready to dial: alice's active agent, a number on a trunk in the LiveKit double."""

import pytest

from agents.models import AgentStatus
from agents.tests.factories import AgentFactory
from calls import tasks as _call_tasks  # noqa: F401 - registers the dial task for eager runs
from campaigns import services
from telephony import trunks
from telephony.tests.factories import PhoneNumberFactory

ALWAYS = {
    "timezone": "UTC",
    "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}],
}


@pytest.fixture
def outbound(customer_a, alice, livekit_server):
    agent = AgentFactory(customer=customer_a, status=AgentStatus.ACTIVE, system_prompt="Call {{name}}.")
    number = PhoneNumberFactory(customer=customer_a, phone_number="+14155550100")
    trunks.sip_trunk_create(
        customer=customer_a, data={"name": "T", "address": "t.example.com", "phone_number_ids": [number.id]}
    )
    return {"agent": agent, "number": number}


@pytest.fixture
def make_campaign(alice, outbound):
    def make(**overrides):
        data = {
            "name": "Renewals",
            "agent_id": outbound["agent"].id,
            "from_number_ids": [outbound["number"].id],
            "schedule": ALWAYS,
            "retry": {"maxAttempts": 2, "delayMinutes": 30, "on": ["busy", "no_answer"]},
            "max_concurrency": 5,
            "calls_per_minute": 60,
            **overrides,
        }
        return services.campaign_create(actor=alice, data=data)

    return make


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """Runs a callable and then its after-commit work (outbox -> eager dial tasks)."""

    def run(callable_, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = callable_(*args, **kwargs)
        return result

    return run
