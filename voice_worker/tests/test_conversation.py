"""The shared conversation pieces that need no session: instructions, phrases, tools, config."""

from datetime import UTC, datetime

import pytest

from agents.tests.factories import AgentFactory
from voice_worker.config import AgentConfig, TransferDestination, call_info
from voice_worker.conversation import (
    MorpheusAgent,
    build_instructions,
    matches_end_phrase,
    transfer_address,
)

pytestmark = pytest.mark.django_db


class NoControl:
    ending = False
    says_fillers = False

    def end_call(self, reason):
        raise AssertionError("not expected")

    async def transfer(self, destination):
        raise AssertionError("not expected")


def tool_names(agent: MorpheusAgent) -> list[str]:
    return sorted(tool.info.name for tool in agent.tools)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OK, goodbye!", "goodbye"),
        ("Goodbye.", "goodbye"),
        ("Thanks — TALK TO YOU LATER", "talk to you later"),
        ("goodbyes are hard", None),
        ("I'll say good bye later", None),
        ("", None),
    ],
)
def test_end_call_phrases_match_whole_words_ignoring_case_and_punctuation(text, expected):
    assert matches_end_phrase(text, ("goodbye", "talk to you later")) == expected


def test_transfer_addresses_are_sip_uris_or_tel_uris():
    assert transfer_address(TransferDestination(name="a", destination="+14155550123")) == "tel:+14155550123"
    assert transfer_address(TransferDestination(name="b", destination="sip:x@pbx.example.com")) == (
        "sip:x@pbx.example.com"
    )


def test_instructions_carry_the_prompt_language_date_and_tools():
    agent = AgentFactory(
        system_prompt="You book dentist appointments.",
        language="fr",
        transfers=[{"name": "Front desk", "destination": "+33100000000", "description": "Billing questions"}],
        functions=[{"name": "book", "url": "https://example.com/book", "parameters": {"type": "object"}}],
    )
    text = build_instructions(AgentConfig.from_agent(agent), now=datetime(2026, 2, 5, 10, tzinfo=UTC))
    assert text.startswith("You book dentist appointments.\n\n# How this conversation works\n")
    assert "The caller's language is 'fr'" in text
    assert "Today is Thursday, February 5, 2026 (UTC)." in text
    assert "call `end_call`" in text
    assert "  - Front desk: Billing questions" in text
    assert "When a function fails" in text


def test_an_agent_without_a_prompt_still_gets_one():
    text = build_instructions(AgentConfig.from_agent(AgentFactory(name="Ava", system_prompt="")))
    assert text.startswith("You are Ava, a helpful voice assistant.")
    assert "transfer_call" not in text


def test_the_agent_offers_end_call_transfers_and_usable_custom_functions():
    agent = AgentFactory(
        transfers=[{"name": "Sales", "destination": "+14155550123"}],
        functions=[
            {"name": "check_stock", "url": "https://example.com/a", "parameters": {"type": "object"}},
            {"name": "end_call", "url": "https://example.com/b"},  # would shadow the built-in
            {"name": "bad name!", "url": "https://example.com/c"},  # not a valid function name
            {"name": "check_stock", "url": "https://example.com/d"},  # duplicate
            {"description": "no name or url"},
            "not an object",
        ],
    )
    morpheus = MorpheusAgent(AgentConfig.from_agent(agent), call=_call_info(agent), control=NoControl())
    assert tool_names(morpheus) == ["check_stock", "end_call", "transfer_call"]
    transfer = next(t for t in morpheus.tools if t.info.name == "transfer_call")
    assert transfer.info.raw_schema["parameters"]["properties"]["destination"]["enum"] == ["Sales"]


def test_every_tool_is_sent_from_a_schema_built_once_per_call():
    """LiveKit derives a Python-signature tool's schema (a pydantic model) anew for every
    request, a cost on every turn; a raw schema is sent as it is. So every tool the agent
    offers, `end_call` included, is a raw-schema tool whose schema each request reuses."""
    from livekit.agents.llm import RawFunctionTool, ToolContext

    agent = AgentFactory(
        transfers=[{"name": "Sales", "destination": "+14155550123"}],
        functions=[{"name": "check_stock", "url": "https://example.com/a", "parameters": {"type": "object"}}],
    )
    morpheus = MorpheusAgent(AgentConfig.from_agent(agent), call=_call_info(agent), control=NoControl())
    assert all(isinstance(tool, RawFunctionTool) for tool in morpheus.tools)
    first, second = (ToolContext(morpheus.tools).parse_function_tools("openai", strict=True) for _ in range(2))
    assert [a["function"] is b["function"] for a, b in zip(first, second, strict=True)] == [True, True, True]


def test_config_reads_malformed_json_fields_defensively():
    agent = AgentFactory(
        end_call_phrases=["bye", "", 3, "  see you  "],
        transfers={"not": "a list"},
        functions=[{"name": "f", "url": "https://x", "parameters": "nonsense"}],
        metadata=["not", "a", "dict"],
    )
    config = AgentConfig.from_agent(agent)
    assert config.end_call_phrases == ("bye", "see you")
    assert config.transfers == ()
    assert config.functions[0].parameters == {"type": "object", "properties": {}}
    assert config.goodbye_message == "Thank you for calling. Goodbye!"


def _call_info(agent):
    from calls.tests.factories import CallFactory

    return call_info(CallFactory(agent=agent))
