"""One text exchange with an agent, outside any room: the simulation's conversation turn.

It runs the very `MorpheusAgent` the voice worker runs, in a text-only `AgentSession`
(no STT, TTS, VAD or room), with the conversation so far as its history. The session lives
for one exchange: the API is request/response, and the transcript is the state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from livekit.agents import AgentSession, APIConnectOptions, ChatContext, ErrorEvent, llm
from livekit.agents.voice.agent_session import SessionConnectOptions

from calls.models import TurnRole

from .config import AgentConfig, CallInfo, TransferDestination
from .conversation import MorpheusAgent
from .session_options import MAX_TOOL_STEPS
from .transcript import TurnCollector
from .turns import TurnRecord

# How long the simulation waits for one model answer.
EXCHANGE_TIMEOUT_SECONDS = 30.0


class ExchangeFailed(Exception):
    """The language model could not answer; the message says why."""


@dataclass
class ExchangeOutcome:
    records: list[TurnRecord] = field(default_factory=list)
    end_reason: str = ""

    @property
    def reply(self) -> str:
        return " ".join(r.content for r in self.records if r.role == TurnRole.ASSISTANT and r.content).strip()


class SimulationControl:
    """In a simulation nothing is dialled: ending or transferring is recorded, and the call
    closes with that reason once the exchange is stored."""

    def __init__(self) -> None:
        self.end_reason = ""

    @property
    def ending(self) -> bool:
        return bool(self.end_reason)

    def end_call(self, reason: str) -> None:
        if not self.end_reason:
            self.end_reason = reason

    @property
    def says_fillers(self) -> bool:
        # The simulation answers each message with one reply: nothing to fill.
        return False

    async def transfer(self, destination: TransferDestination) -> None:
        return None


def history_context(turns) -> ChatContext:
    """The stored transcript as the model's history (system notes are left out)."""
    ctx = ChatContext.empty()
    for turn in turns:
        if turn.role in (TurnRole.USER, TurnRole.ASSISTANT):
            ctx.add_message(role=turn.role, content=turn.content)
        elif turn.role == TurnRole.TOOL and isinstance(turn.tool_payload, dict) and turn.tool_payload.get("callId"):
            payload = turn.tool_payload
            call_id = str(payload["callId"])
            arguments = payload.get("arguments")
            ctx.insert(
                [
                    llm.FunctionCall(
                        call_id=call_id,
                        name=turn.tool_name,
                        arguments=arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
                    ),
                    llm.FunctionCallOutput(
                        call_id=call_id,
                        name=turn.tool_name,
                        output=turn.content,
                        is_error=bool(payload.get("isError")),
                    ),
                ]
            )
    return ctx


def text_only_session(
    model: llm.LLM, *, turn_timeout: float, on_turn: Callable[[TurnRecord], None], errors: list[str]
) -> AgentSession:
    """A text-only `AgentSession` (no VAD, manual turns, no interruptions, one try per model
    answer within `turn_timeout`): each turn goes to `on_turn`, the message of each
    unrecoverable error is appended to `errors`.

    The simulation's exchange and an agent test case (evaluations/runner.py) run the agent
    in this one session, so a test case behaves as the same words in a simulation."""
    session = AgentSession(
        llm=model,
        vad=None,
        turn_handling={"turn_detection": "manual", "interruption": {"enabled": False}},
        user_away_timeout=None,
        max_tool_steps=MAX_TOOL_STEPS,
        conn_options=SessionConnectOptions(llm_conn_options=APIConnectOptions(max_retry=0, timeout=turn_timeout)),
    )
    TurnCollector(session, on_turn, text_mode=True)

    def on_error(event: ErrorEvent) -> None:
        if not getattr(event.error, "recoverable", False):
            errors.append(str(getattr(event.error, "error", event.error)))

    session.on("error", on_error)
    return session


async def run_text_exchange(
    *, config: AgentConfig, call: CallInfo, history, user_text: str, model: llm.LLM
) -> ExchangeOutcome:
    control = SimulationControl()
    outcome = ExchangeOutcome()
    failures: list[str] = []
    session = text_only_session(
        model, turn_timeout=EXCHANGE_TIMEOUT_SECONDS, on_turn=outcome.records.append, errors=failures
    )
    agent = MorpheusAgent(config, call=call, control=control, chat_ctx=history_context(history), greet=False)
    try:
        await session.start(agent, record=False)
        await session.run(user_input=user_text)
    except Exception as exc:
        failures.append(str(exc))
    finally:
        await session.aclose()
        await model.aclose()
    if failures:
        raise ExchangeFailed(failures[0])
    outcome.end_reason = control.end_reason
    return outcome
