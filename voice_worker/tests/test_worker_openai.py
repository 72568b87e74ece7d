"""The worker with the real LiveKit OpenAI plugin, against a local OpenAI-compatible server."""

import pytest

from calls.models import CallStatus, EndReason, TranscriptTurn
from voice_worker import providers
from voice_worker.conversation import END_CALL_SCHEMA

from .servers import ChatReply

pytestmark = pytest.mark.django_db


def test_the_worker_talks_to_an_openai_compatible_server(make_call, run_call, openai_server):
    call = make_call(first_message="Hello, Acme here.", llm_model="", llm_temperature=0.3)
    openai_server.replies = [
        ChatReply(text="We are open from nine to five."),
        ChatReply(tool_calls=[("end_call", {"goodbye_message": "Goodbye!"})]),
    ]

    async def scenario(runner):
        await runner.session.wait_for_idle()  # the caller answers the greeting
        await runner.session.run(user_input="When are you open?")
        await runner.session.run(user_input="Great, bye.")
        await runner.wait_closed()

    run_call(call, providers.build_llm, scenario)

    first, second = openai_server.requests
    assert first["model"] == "gpt-4o-mini"  # the provider's default model
    assert first["temperature"] == 0.3 and first["stream"] is True
    # end_call as OpenAI's strict mode wants it (every property required, null allowed).
    assert first["tools"] == [{"type": "function", "function": END_CALL_SCHEMA}]
    assert END_CALL_SCHEMA["strict"] is True and END_CALL_SCHEMA["parameters"]["required"] == ["goodbye_message"]
    assert [(m["role"], m.get("content")) for m in first["messages"][1:]] == [
        ("assistant", "Hello, Acme here."),
        ("user", "When are you open?"),
    ]
    assert second["messages"][-1] == {"role": "user", "content": "Great, bye."}
    rows = [(t.role, t.content, t.tool_name) for t in TranscriptTurn.objects.filter(call=call).order_by("id")]
    assert rows == [
        ("assistant", "Hello, Acme here.", ""),
        ("user", "When are you open?", ""),
        ("assistant", "We are open from nine to five.", ""),
        ("user", "Great, bye.", ""),
        ("tool", "", "end_call"),
        ("assistant", "Goodbye!", ""),
    ]
    reply = TranscriptTurn.objects.get(call=call, content="We are open from nine to five.")
    # Usage as the server reported it.
    assert (reply.prompt_tokens, reply.completion_tokens) == (12, 5)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED)
