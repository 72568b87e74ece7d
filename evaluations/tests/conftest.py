"""Agent tests against a local OpenAI-compatible server (the network edge) that plays three
parts, told apart by the request itself: the agent's model, livekit-agents' judge (asked to
call `submit_verdict`) and the simulated caller (its role-play instructions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from agents.tests.factories import AgentFactory
from voice_worker.tests.servers import ChatReply, OpenAICompatibleServer

CALLER_MARK = "You are role-playing a caller"


def system_prompt(request: dict) -> str:
    first = request["messages"][0]
    return first["content"] if first["role"] == "system" and isinstance(first["content"], str) else ""


def last_user(request: dict) -> str:
    for message in reversed(request["messages"]):
        if message["role"] == "user":
            return message["content"] if isinstance(message["content"], str) else json.dumps(message["content"])
    return ""


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def verdict(value: str, reasoning: str, **extra) -> ChatReply:
    return ChatReply(tool_calls=[("submit_verdict", {"verdict": value, "reasoning": reasoning})], **extra)


@dataclass
class Script:
    """`agent(request)`, `judge(request)` and `caller(request)` answer their part."""

    agent: Callable[[dict], ChatReply] = lambda request: ChatReply(text="OK.")
    judge: Callable[[dict], ChatReply] = lambda request: verdict("pass", "Looks right.")
    caller: Callable[[dict], ChatReply] = lambda request: ChatReply(text="[DONE]")
    seen: dict = field(default_factory=lambda: {"agent": [], "judge": [], "caller": []})

    def __call__(self, request: dict) -> ChatReply:
        tools = [t["function"]["name"] for t in request.get("tools") or []]
        part = "judge" if "submit_verdict" in tools else "caller" if CALLER_MARK in system_prompt(request) else "agent"
        self.seen[part].append(request)
        return getattr(self, part)(request)


@pytest.fixture
def script():
    return Script()


@pytest.fixture
def llm_server(settings, script):
    with OpenAICompatibleServer(responder=script) as server:
        settings.OPENAI_API_KEY = server.api_key
        settings.OPENAI_BASE_URL = server.base_url
        settings.EVALUATIONS_TURN_TIMEOUT_SECONDS = 10
        settings.EVALUATIONS_JUDGE_TIMEOUT_SECONDS = 10
        yield server


@pytest.fixture
def agent(customer_a):
    return AgentFactory(
        customer=customer_a,
        system_prompt="You are Ada's shop assistant. The customer is {{customer_name}}.",
        first_message="Hi {{customer_name}}, Ada's shop here.",
        functions=[
            {
                "name": "lookup_order",
                "description": "Finds an order",
                "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}},
                "url": "https://orders.example.com/lookup",
            }
        ],
        transfers=[{"name": "Billing", "destination": "+14155550123"}],
    )
