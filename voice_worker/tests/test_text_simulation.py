"""A text-only simulation on a server without LiveKit: POST /calls/simulate needs only a
language model (here a local OpenAI-compatible server), and POST /calls/:id/messages runs
the same agent logic as a live call — tools really called, end_call ends it, a transfer is
recorded and not dialled, the transcript stored — without ever calling LiveKit."""

import pytest

from agents.tests.factories import AgentFactory
from calls.models import Call, CallMode, CallStatus, EndReason
from morpheus.models import OutboxMessage
from testsupport.api import assert_error, assert_success

from .servers import ChatReply, FunctionServer, OpenAICompatibleServer

pytestmark = pytest.mark.django_db

SIMULATE = "/api/v1/calls/simulate"


def messages(call_id) -> str:
    return f"/api/v1/calls/{call_id}/messages"


@pytest.fixture
def no_livekit(settings, livekit_server):
    """LiveKit unset; the double stays up only to prove nobody calls it."""
    settings.LIVEKIT_URL = settings.LIVEKIT_API_KEY = settings.LIVEKIT_API_SECRET = ""
    livekit_server.requests.clear()
    return livekit_server


def test_it_chats_with_an_agent_without_livekit(alice_client, customer_a, no_livekit, openai_server):
    agent = AgentFactory(customer=customer_a, first_message="Hi, Acme here.", system_prompt="You sell anvils.")
    openai_server.replies = [ChatReply(text="Anvils cost ten dollars.")]

    data = assert_success(alice_client.post(SIMULATE, {"agentId": agent.pk}, format="json"), 200, "Simulation started")

    call = Call.objects.get()
    assert data == {
        "callId": call.pk,
        "agentId": agent.pk,
        "agentVersion": 1,
        "mode": "text",
        "roomName": None,
        "token": None,
        "tokenExpiresAt": None,
        "status": "active",
    }
    assert call.mode == CallMode.TEXT and call.is_simulation and call.agent_version.number == 1

    reply = assert_success(alice_client.post(messages(call.pk), {"content": "How much?"}, format="json"), 200)
    assert reply["reply"] == "Anvils cost ten dollars."
    assert [(t["role"], t["content"]) for t in reply["turns"]] == [
        ("assistant", "Hi, Acme here."),
        ("user", "How much?"),
        ("assistant", "Anvils cost ten dollars."),
    ]
    assert openai_server.requests[0]["messages"][0]["content"].startswith("You sell anvils.")

    detail = assert_success(alice_client.get(f"/api/v1/calls/{call.pk}"), 200)
    assert (detail["mode"], detail["agentVersion"]) == ("text", 1)
    assert [t["content"] for t in detail["transcript"]] == ["Hi, Acme here.", "How much?", "Anvils cost ten dollars."]
    assert no_livekit.requests == []


def test_a_local_openai_compatible_server_needs_only_its_base_url(alice_client, customer_a, no_livekit, settings):
    # OPENAI_BASE_URL alone (a local Ollama): the client sends a placeholder key.
    with OpenAICompatibleServer([ChatReply(text="Local model here.")], api_key="not-needed") as server:
        settings.OPENAI_API_KEY = ""
        settings.OPENAI_BASE_URL = server.base_url
        AgentFactory(customer=customer_a)
        call_id = assert_success(alice_client.post(SIMULATE), 200)["callId"]
        reply = assert_success(alice_client.post(messages(call_id), {"content": "Hello?"}, format="json"), 200)
    assert reply["reply"] == "Local model here."


def test_without_a_language_model_it_is_a_503_naming_the_variable(alice_client, customer_a, no_livekit, settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    AgentFactory(customer=customer_a)
    body = assert_error(alice_client.post(SIMULATE), 503)
    assert "OPENAI_API_KEY" in body["message"]
    assert Call.objects.count() == 0


def test_the_agent_ends_a_text_call_without_touching_livekit(alice_client, customer_a, no_livekit, openai_server):
    AgentFactory(customer=customer_a, first_message="")
    call_id = assert_success(alice_client.post(SIMULATE), 200)["callId"]
    openai_server.replies = [ChatReply(tool_calls=[("end_call", {"goodbye_message": "Bye now!"})])]

    data = assert_success(alice_client.post(messages(call_id), {"content": "That's all, thanks"}, format="json"), 200)

    assert (data["status"], data["endReason"]) == ("completed", EndReason.AGENT_ENDED)
    assert data["reply"] == "Bye now!"
    # No room to tear down: no teardown task queued, LiveKit never called.
    assert not OutboxMessage.objects.filter(task_name="calls.tasks.teardown_call_room").exists()
    assert no_livekit.requests == []


def test_ending_a_text_call_from_the_dashboard_needs_no_livekit(alice_client, customer_a, no_livekit, openai_server):
    AgentFactory(customer=customer_a)
    call_id = assert_success(alice_client.post(SIMULATE), 200)["callId"]

    data = assert_success(alice_client.post(f"/api/v1/calls/{call_id}/end"), 200, "Call ended successfully")

    assert data["status"] == CallStatus.COMPLETED
    assert no_livekit.requests == []


def test_tools_run_for_real_and_a_transfer_is_recorded_not_dialled(
    alice_client, customer_a, no_livekit, openai_server, settings
):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    agent = AgentFactory(
        customer=customer_a, first_message="", transfers=[{"name": "Billing", "destination": "+14155550123"}]
    )
    with FunctionServer(customer_a.signing_secret, respond=lambda body: (200, {"balance": 12})) as endpoint:
        agent.functions = [{"name": "balance", "parameters": {"type": "object"}, "url": endpoint.url}]
        agent.save()
        call_id = assert_success(alice_client.post(SIMULATE), 200)["callId"]
        openai_server.replies = [
            ChatReply(tool_calls=[("balance", {})]),
            ChatReply(text="You owe twelve dollars. Let me transfer you."),
            ChatReply(tool_calls=[("transfer_call", {"destination": "Billing"})]),
        ]
        first = assert_success(alice_client.post(messages(call_id), {"content": "My balance?"}, format="json"), 200)
        second = assert_success(alice_client.post(messages(call_id), {"content": "Billing please"}, format="json"))

    assert [c["body"]["call"]["simulation"] for c in endpoint.calls] == [True]
    assert first["turns"][1]["toolPayload"]["output"] == {"balance": 12}
    assert (second["status"], second["endReason"]) == ("completed", EndReason.TRANSFERRED)
    assert no_livekit.requests == []  # nothing dialled
