"""The agent's conversation logic, shared by the voice worker and the text simulation.

`MorpheusAgent` is the LiveKit `Agent` both run: the same instructions, greeting, built-in
tools (`end_call`, `transfer_call`), custom function tools and end-call phrases, so what a
customer tests in text is what answers the phone. What differs between the two — how a
call actually ends or transfers — sits behind `CallControl`, which the voice worker and
the simulation each implement.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

from livekit.agents import Agent, ChatContext, ChatMessage, RunContext, StopResponse, ToolError, function_tool
from livekit.agents.voice import ConversationItemAddedEvent

from agents.validation import BUILT_IN_TOOLS, FUNCTION_NAME
from calls.models import EndReason

from . import functions
from .config import (
    AgentConfig,
    CallInfo,
    FunctionSpec,
    TransferDestination,
    function_timeout_seconds,
    functions_allow_private_networks,
)

logger = logging.getLogger(__name__)

END_CALL_TOOL, TRANSFER_TOOL = BUILT_IN_TOOLS
RESERVED_TOOL_NAMES = frozenset(BUILT_IN_TOOLS)

# `end_call` as the OpenAI plugin's strict mode sends it. Written out rather than derived
# from a Python signature: LiveKit rebuilds a signature-derived schema (a pydantic model
# and its JSON schema) for every request, several milliseconds of CPU on every turn,
# while a raw schema is sent as it is.
END_CALL_SCHEMA = {
    "name": END_CALL_TOOL,
    "strict": True,
    "description": (
        "End the phone call. Use it when the caller's needs are met and the conversation is over, "
        "or when the caller asks to hang up. It says the goodbye for you."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "goodbye_message": {
                "type": ["string", "null"],
                "description": "A short goodbye to say to the caller before hanging up.",
            }
        },
        "required": ["goodbye_message"],
        "additionalProperties": False,
    },
}


class TransferFailed(Exception):
    """The transfer did not happen; the message says why (it is relayed to the model).
    `outcome` is what the call records (failed, declined, no_answer, ...); `summary` what a
    warm transfer told the person it consulted."""

    def __init__(self, message: str, *, outcome: str = "failed", summary: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome
        self.summary = summary


class CallControl(Protocol):
    """How a conversation ends or hands the caller over; one per call."""

    @property
    def ending(self) -> bool:
        """An end was requested; later requests are ignored."""

    def end_call(self, reason: str) -> None:
        """End the call once what is already queued has been said. The first reason wins."""

    @property
    def says_fillers(self) -> bool:
        """Whether a slow function or transfer is covered by the filler line (phone calls)."""

    async def transfer(self, destination: TransferDestination) -> None:
        """Hand the caller to `destination`; raises TransferFailed."""


def build_instructions(config: AgentConfig, *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    prompt = config.system_prompt.strip() or f"You are {config.name}, a helpful voice assistant."
    rules = [
        "You are talking with a caller on a phone call, and what you write is spoken aloud. "
        "Reply in short, natural spoken sentences, without markdown, lists, emoji or links.",
        f"The caller's language is '{config.language}'; reply in it unless the caller switches language.",
        f"Today is {now:%A, %B %-d, %Y} (UTC).",
        f"When the caller's request is handled and they are done, or they ask to hang up, call `{END_CALL_TOOL}` "
        "with a short goodbye. It says the goodbye and hangs up, so do not say goodbye yourself first.",
    ]
    if config.transfers:
        destinations = "\n".join(
            f"  - {t.name}" + (f": {t.description}" if t.description else "") for t in config.transfers
        )
        rules.append(
            f"You can transfer the caller with `{TRANSFER_TOOL}` to one of these destinations:\n{destinations}\n"
            "  Tell the caller you are transferring them before you call it."
        )
    if config.functions:
        rules.append("When a function fails, tell the caller briefly and carry on without it.")
    return prompt + "\n\n# How this conversation works\n" + "\n".join(f"- {rule}" for rule in rules)


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w']+", " ", text.casefold()).split())


def matches_end_phrase(text: str, phrases: tuple[str, ...]) -> str | None:
    """The first phrase said in `text`, as whole words, ignoring case and punctuation."""
    padded = f" {normalize(text)} "
    for phrase in phrases:
        needle = normalize(phrase)
        if needle and f" {needle} " in padded:
            return phrase
    return None


def transfer_address(destination: TransferDestination) -> str:
    """LiveKit's SIP transfer takes `tel:+1...` or `sip:...`."""
    address = destination.destination
    return address if address.startswith(("sip:", "sips:", "tel:")) else f"tel:{address}"


class MorpheusAgent(Agent):
    def __init__(
        self,
        config: AgentConfig,
        *,
        call: CallInfo,
        control: CallControl,
        chat_ctx: ChatContext | None = None,
        greet: bool = True,
        greet_when_spoken_to: bool = False,
    ) -> None:
        self.config = config
        self.call = call
        self.control = control
        self._greet = greet
        self._greeted = False
        # An outbound call's agent does not talk first: the callee's "Hello?" (heard by AMD)
        # is answered with the first message instead of a model reply.
        self._answer_first_turn_with_greeting = greet_when_spoken_to and bool(config.first_message.strip())
        # The goodbye answered to a caller's end-call phrase, until it has been said.
        self._pending_goodbye: str | None = None
        tools = []
        if config.transfers:
            tools.append(self._transfer_tool())
        tools.extend(self._function_tools())
        super().__init__(instructions=build_instructions(config), tools=tools, chat_ctx=chat_ctx)

    async def on_enter(self) -> None:
        self.session.on("conversation_item_added", self._on_item_added)
        if self._greet:
            self.greet()

    def greet(self) -> bool:
        """Says the first message, once; False when already said or there is none."""
        message = self.config.first_message.strip()
        if self._greeted or not message:
            return False
        self._greeted = True
        self.session.say(message, allow_interruptions=self.config.allow_interruptions)
        return True

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        if self._answer_first_turn_with_greeting:
            self._answer_first_turn_with_greeting = False
            self.greet()  # unless AMD's verdict already made the agent greet
            raise StopResponse()

    async def on_exit(self) -> None:
        self.session.off("conversation_item_added", self._on_item_added)

    @function_tool(raw_schema=END_CALL_SCHEMA)
    async def end_call(self, raw_arguments: dict[str, object], context: RunContext) -> None:
        if self.control.ending:
            return
        goodbye = raw_arguments.get("goodbye_message")
        goodbye = goodbye.strip() if isinstance(goodbye, str) else ""
        self.session.say(goodbye or self.config.goodbye_message, allow_interruptions=False)
        self.control.end_call(EndReason.AGENT_ENDED)
        # No tool output: the model has nothing more to say.
        return

    def llm_node(self, chat_ctx, tools, model_settings):
        # Not a generator itself, so the model's stream reaches the pipeline unwrapped.
        message = _latest_caller_message(chat_ctx)
        if message is not None and self.config.end_call_phrases:
            # Checked on every generation: a preemptive one (on the interim transcript) may be
            # thrown away and the turn generated again from the final transcript.
            if matches_end_phrase(message.text_content or "", self.config.end_call_phrases):
                # Answer with the goodbye instead of the model; the call ends once it has been
                # said (`_on_item_added`), not here, in case this generation is discarded.
                self._pending_goodbye = self.config.goodbye_message
                return self.config.goodbye_message
            self._pending_goodbye = None
        return Agent.default.llm_node(self, chat_ctx, tools, model_settings)

    def _on_item_added(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage) or item.role != "assistant" or self.control.ending:
            return
        text = item.text_content or ""
        said_goodbye = self._pending_goodbye is not None and self._pending_goodbye in text
        if said_goodbye or matches_end_phrase(text, self.config.end_call_phrases):
            self.control.end_call(EndReason.AGENT_ENDED)

    def _transfer_tool(self):
        names = [t.name for t in self.config.transfers]
        listing = "; ".join(
            f"{t.name}" + (f" ({t.description})" if t.description else "") for t in self.config.transfers
        )
        schema = {
            "name": TRANSFER_TOOL,
            "description": (
                "Transfer the caller to a person or team, ending your part of the call. "
                f"Tell the caller first. Destinations: {listing}."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "destination": {"type": "string", "enum": names, "description": "Where to transfer the caller."}
                },
                "required": ["destination"],
            },
        }

        async def transfer_call(raw_arguments: dict[str, object], context: RunContext) -> None:
            wanted = str(raw_arguments.get("destination") or "")
            destination = next((t for t in self.config.transfers if t.name.casefold() == wanted.casefold()), None)
            if destination is None:
                raise ToolError(f"There is no transfer destination '{wanted}'. Choose one of: {', '.join(names)}.")
            if self.control.ending:
                return
            # Let the caller hear "I'm transferring you" before the line changes hands.
            await context.wait_for_playout()
            try:
                # A warm transfer puts the caller on hold (hold music): no filler line then.
                async with self._filler(context, enabled=destination.mode != "warm"):
                    await self.control.transfer(destination)
            except TransferFailed as exc:
                raise ToolError(
                    f"The transfer to {destination.name} failed: {exc} Tell the caller and offer to help another way."
                )
            self.control.end_call(EndReason.TRANSFERRED)
            return

        return function_tool(transfer_call, raw_schema=schema)

    @contextlib.asynccontextmanager
    async def _filler(self, context: RunContext, *, enabled: bool = True) -> AsyncIterator[None]:
        """While a tool call runs: if the agent has been silent for `fillerAfterSeconds`, it
        says the filler line ("One moment, please."), at most once per tool call, so a slow
        function or transfer is not dead air."""
        delay = self.config.voice.filler_after_seconds
        if delay is None or not enabled or not self.control.says_fillers:
            yield
            return
        # LiveKit's scheduler waits for the session to be idle that long (the agent's own
        # sentence before the tool call has been said), then says it once (interval=None).
        async with context.with_filler(self.config.filler_message, delay=delay, interval=None):
            yield

    def _function_tools(self):
        tools = []
        for spec in self.config.functions:
            # The agents app's rule, so a name the API accepted is one the worker offers.
            if spec.name in RESERVED_TOOL_NAMES or not FUNCTION_NAME.match(spec.name):
                logger.warning("skipping custom function with an unusable name", extra={"function": spec.name})
                continue
            if any(tool.info.name == spec.name for tool in tools):
                continue
            tools.append(self._function_tool(spec))
        return tools

    def _function_tool(self, spec: FunctionSpec):
        schema = {"name": spec.name, "description": spec.description, "parameters": spec.parameters}

        async def call_function(raw_arguments: dict[str, object], context: RunContext) -> str:
            try:
                async with self._filler(context):
                    result = await functions.invoke(
                        spec,
                        dict(raw_arguments),
                        call=self.call,
                        secret=self.config.signing_secret,
                        previous_secret=self.config.previous_signing_secret,
                        timeout=function_timeout_seconds(),
                        allow_private=functions_allow_private_networks(),
                    )
            except functions.FunctionCallError as exc:
                logger.warning("custom function failed", extra={"function": spec.name, "error": str(exc)})
                raise ToolError(str(exc))
            if result is None:
                return "The function completed without returning data."
            return json.dumps(result, ensure_ascii=False)

        return function_tool(call_function, raw_schema=schema)


def _latest_caller_message(chat_ctx: ChatContext) -> ChatMessage | None:
    """The caller's message when it is what the model is about to answer (not a tool result)."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, ChatMessage):
            return item if item.role == "user" else None
        if item.type in ("function_call", "function_call_output"):
            return None
    return None
