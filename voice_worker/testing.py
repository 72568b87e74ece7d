"""A scripted language model for tests and the benchmark: the network edge, not our code.

`FakeLLM` is a real `livekit.agents.llm.LLM`: the session streams its chunks, times its
first token and counts its usage exactly as it would OpenAI's. Each request answers with
the next scripted reply — text, a tool call (optionally with text before it), or an error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIStatusError, llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage, FunctionToolCall
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN


@dataclass
class ToolCall:
    name: str
    arguments: dict = field(default_factory=dict)
    text: str = ""


@dataclass
class Fail:
    message: str = "the model is unavailable"
    status_code: int = 503


Reply = str | ToolCall | Fail | Callable[[llm.ChatContext], "Reply"]


@dataclass
class Request:
    """What the session sent: the conversation and the tools offered."""

    chat_ctx: llm.ChatContext
    tool_names: list[str]

    def messages(self) -> list[tuple[str, str]]:
        return [(m.role, m.text_content or "") for m in self.chat_ctx.messages()]

    def tool_outputs(self) -> list[tuple[str, str, bool]]:
        """(name, output, is_error) of the tool results the model was given."""
        return [
            (item.name, item.output, item.is_error)
            for item in self.chat_ctx.items
            if item.type == "function_call_output"
        ]


class FakeLLM(llm.LLM):
    def __init__(self, replies: list[Reply] | None = None, *, default: Reply | None = None, ttft: float = 0.0) -> None:
        super().__init__()
        self.replies = list(replies or [])
        self.default = default
        self.ttft = ttft
        self.requests: list[Request] = []

    @property
    def model(self) -> str:
        return "fake-model"

    @property
    def provider(self) -> str:
        return "fake"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list | None = None,
        conn_options=DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls=NOT_GIVEN,
        tool_choice=NOT_GIVEN,
        extra_kwargs=NOT_GIVEN,
    ) -> FakeStream:
        tools = tools or []
        names = [getattr(getattr(t, "info", None), "name", getattr(t, "id", "")) for t in tools]
        self.requests.append(Request(chat_ctx=chat_ctx.copy(), tool_names=names))
        if self.replies:
            reply = self.replies.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError("FakeLLM: no scripted reply left")
        while callable(reply):
            reply = reply(chat_ctx)
        return FakeStream(self, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options, reply=reply)


class FakeStream(llm.LLMStream):
    def __init__(self, fake: FakeLLM, *, chat_ctx, tools, conn_options, reply: Any) -> None:
        super().__init__(fake, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._fake = fake
        self._reply = reply

    async def _run(self) -> None:
        if self._fake.ttft:
            await asyncio.sleep(self._fake.ttft)
        reply = self._reply
        request_id = f"fake-{id(self)}"
        if isinstance(reply, Fail):
            raise APIStatusError(reply.message, status_code=reply.status_code, retryable=False)
        text = reply.text if isinstance(reply, ToolCall) else str(reply)
        words = text.split(" ") if text else []
        for index, word in enumerate(words):
            chunk = word if index == len(words) - 1 else word + " "
            self._event_ch.send_nowait(ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=chunk)))
        if isinstance(reply, ToolCall):
            call = FunctionToolCall(
                name=reply.name, arguments=json.dumps(reply.arguments), call_id=f"call_{len(self._fake.requests)}"
            )
            self._event_ch.send_nowait(ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", tool_calls=[call])))
        prompt_tokens = sum(len((m.text_content or "").split()) for m in self._chat_ctx.messages())
        completion_tokens = max(1, len(words))
        self._event_ch.send_nowait(
            ChatChunk(
                id=request_id,
                usage=CompletionUsage(
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    total_tokens=prompt_tokens + completion_tokens,
                ),
            )
        )
