"""The test engine: one test case against one agent configuration, on livekit-agents'
testing API.

A case runs the very `MorpheusAgent` the voice worker runs (voice_worker/conversation.py)
in a text-only `AgentSession`, turn by turn with `session.run(user_input=...)`, and checks
each turn's `RunResult`: `RunResult.expect` for tool calls, the reply's text for
contains / notContains / regex, and an LLM judge (livekit.agents.evals) for `judge`.
Tool mocks are installed with `mock_tools(...)` on the session, so the model still sees
the real tool schemas but nothing the customer runs is called: every custom function and
the transfer tool is replaced — by the case's mock whose `match` is a subset of the call's
arguments, or by a refusal that is reported in `unmocked_tools`. `end_call` is real and
ends the conversation.

Nothing here touches the database: `evaluations.execution` loads, runs and stores. Every
wait is bounded (turn, judge and caller timeouts), so a model or judge that hangs marks
that case `error` instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from livekit.agents import AgentSession, ChatContext, ToolError, llm
from livekit.agents.evals.judge import JudgmentResult, _LLMJudge
from livekit.agents.voice.run_result import ChatMessageEvent, FunctionCallEvent, RunResult, mock_tools

from calls.models import TurnRole
from voice_worker.config import AgentConfig, CallInfo, TransferDestination
from voice_worker.conversation import RESERVED_TOOL_NAMES, TRANSFER_TOOL, MorpheusAgent
from voice_worker.text_exchange import text_only_session
from voice_worker.turns import TurnRecord

logger = logging.getLogger(__name__)

DONE_MARKER = "[DONE]"


class CaseError(Exception):
    """The case could not be evaluated (model or judge down or too slow); verdict `error`."""


@dataclass(frozen=True)
class Limits:
    turn_timeout: float = 60.0
    judge_timeout: float = 30.0


@dataclass
class CaseSpec:
    """A test case's definition (the API's shape, as stored on the result)."""

    name: str
    kind: str = "scripted"
    turns: list[dict] = field(default_factory=list)
    tool_mocks: list[dict] = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    persona: str = ""
    goal: str = ""
    max_turns: int = 6

    @classmethod
    def from_definition(cls, name: str, definition: dict) -> CaseSpec:
        caller = definition.get("simulatedCaller") or {}
        return cls(
            name=name,
            kind=definition.get("kind", "scripted"),
            turns=definition.get("turns") or [],
            tool_mocks=definition.get("toolMocks") or [],
            variables=definition.get("variables") or {},
            persona=caller.get("persona", ""),
            goal=caller.get("goal", ""),
            max_turns=caller.get("maxTurns", 6),
        )


@dataclass
class CaseOutcome:
    verdict: str = "pass"  # pass | fail | error
    failure: dict | None = None
    judgments: list[dict] = field(default_factory=list)
    transcript: list[dict] = field(default_factory=list)
    unmocked_tools: list[str] = field(default_factory=list)
    error_message: str = ""


class Failed(Exception):
    """An expectation did not hold; carries the result's `failure` document."""

    def __init__(self, **failure):
        super().__init__(failure.get("message", ""))
        self.failure = failure


class TestControl:
    """Nothing is dialled in a test: an end or a transfer is recorded."""

    __test__ = False

    def __init__(self) -> None:
        self.end_reason = ""
        self.transfers: list[str] = []

    @property
    def ending(self) -> bool:
        return bool(self.end_reason)

    @property
    def says_fillers(self) -> bool:
        # A test judges the agent's answers: a filler line would only be noise in them.
        return False

    def end_call(self, reason: str) -> None:
        if not self.end_reason:
            self.end_reason = reason

    async def transfer(self, destination: TransferDestination) -> None:
        self.transfers.append(destination.name)


def arguments_match(subset: dict, arguments: dict) -> bool:
    """Every key of `subset` is in `arguments` with an equal value (nested objects: subset too)."""
    for key, expected in subset.items():
        if key not in arguments:
            return False
        actual = arguments[key]
        if isinstance(expected, dict) and isinstance(actual, dict):
            if not arguments_match(expected, actual):
                return False
        elif actual != expected:
            return False
    return True


def build_mocks(config: AgentConfig, tool_mocks: list[dict], unmocked: list[str]) -> dict[str, Callable]:
    """A mock for every tool that would reach the outside world: each custom function and
    the transfer tool. The first mock whose `match` fits answers; otherwise the model is told
    the tool is unavailable and the call is reported (never made)."""
    names = [spec.name for spec in config.functions if spec.name not in RESERVED_TOOL_NAMES]
    if config.transfers:
        names.append(TRANSFER_TOOL)
    mocks: dict[str, Callable] = {}
    for name in names:
        candidates = [m for m in tool_mocks if m.get("tool") == name]

        def make(name: str, candidates: list[dict]):
            async def mock(raw_arguments: dict | None = None, **kwargs):
                arguments = dict(raw_arguments or kwargs)
                for candidate in candidates:
                    if arguments_match(candidate.get("match") or {}, arguments):
                        result = candidate.get("result")
                        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
                unmocked.append(name)
                raise ToolError(f"The function {name} is not available in this test.")

            return mock

        if name == TRANSFER_TOOL and not candidates:
            continue  # the real tool runs with TestControl: recorded, not dialled
        mocks[name] = make(name, candidates)
    return mocks


def reply_text(result: RunResult) -> str:
    parts = [
        ev.item.text_content or ""
        for ev in result.events
        if isinstance(ev, ChatMessageEvent) and ev.item.role == "assistant"
    ]
    return " ".join(p.strip() for p in parts if p.strip())


def tool_calls(result: RunResult) -> list[dict]:
    calls = []
    for ev in result.events:
        if isinstance(ev, FunctionCallEvent):
            try:
                arguments = json.loads(ev.item.arguments or "{}")
            except ValueError:
                arguments = ev.item.arguments
            calls.append({"name": ev.item.name, "arguments": arguments})
    return calls


def transcript_entry(record: TurnRecord) -> dict:
    return {
        "role": record.role,
        "content": record.content,
        "toolName": record.tool_name,
        "toolPayload": record.tool_payload,
        "latency": {"llmTtftMs": record.llm_ttft_ms, "e2eLatencyMs": record.e2e_latency_ms},
        "usage": {"promptTokens": record.prompt_tokens, "completionTokens": record.completion_tokens},
    }


async def judge(model: llm.LLM, *, criteria: str, chat_ctx: ChatContext, timeout: float) -> JudgmentResult:
    """livekit-agents' LLM judge, bounded: a timeout or an unusable answer is a CaseError."""
    evaluator = _LLMJudge(llm=model, instructions=criteria, name="morpheus")
    try:
        return await asyncio.wait_for(evaluator.evaluate(chat_ctx=chat_ctx.copy(exclude_instructions=True)), timeout)
    except TimeoutError:
        raise CaseError(f"The judge did not answer within {timeout:g}s")
    except Exception as exc:  # the judge's model failed or answered without a verdict
        raise CaseError(f"The judge failed: {exc}")


# The text expectations, one rule (case-insensitive substring): (key, whether the reply must
# contain each text, how the failure reads).
TEXT_EXPECTATIONS = (("contains", True, "does not contain"), ("notContains", False, "contains"))


async def check_turn(
    index: int, expect: dict, result: RunResult, session: AgentSession, judge_llm: llm.LLM, limits: Limits, out
) -> None:
    """Raises Failed at the first expectation that does not hold, in a fixed order: the
    cheap, exact ones first, the judge last."""
    turn = index + 1
    reply = reply_text(result)
    if "toolCall" in expect:
        wanted = expect["toolCall"]
        wanted_arguments = json.dumps(wanted.get("arguments") or {})
        try:
            result.expect.contains_function_call(name=wanted["name"], arguments=wanted.get("arguments") or {})
        except AssertionError:
            raise Failed(
                turn=turn,
                expectation="toolCall",
                expected=wanted,
                actual=tool_calls(result),
                message=f"Turn {turn}: expected a call to {wanted['name']} with {wanted_arguments}",
            )
    lowered = reply.casefold()
    for expectation, must_contain, failing in TEXT_EXPECTATIONS:
        for text in expect.get(expectation, []):
            if (text.casefold() in lowered) != must_contain:
                raise Failed(
                    turn=turn,
                    expectation=expectation,
                    expected=text,
                    actual=reply,
                    message=f"Turn {turn}: the reply {failing} '{text}'",
                )
    if "regex" in expect and not re.search(expect["regex"], reply):
        raise Failed(
            turn=turn,
            expectation="regex",
            expected=expect["regex"],
            actual=reply,
            message=f"Turn {turn}: the reply does not match /{expect['regex']}/",
        )
    if "judge" in expect:
        if not reply:
            raise Failed(
                turn=turn, expectation="judge", expected=expect["judge"], actual="", message=f"Turn {turn}: no reply"
            )
        criteria = f"The agent's LAST reply (to the caller's last message) must achieve this: {expect['judge']}"
        verdict = await judge(judge_llm, criteria=criteria, chat_ctx=session.history, timeout=limits.judge_timeout)
        out.judgments.append(
            {"turn": turn, "criteria": expect["judge"], "verdict": verdict.verdict, "reasoning": verdict.reasoning}
        )
        if not verdict.passed:
            raise Failed(
                turn=turn,
                expectation="judge",
                expected=expect["judge"],
                actual=reply,
                reasoning=verdict.reasoning,
                message=f"Turn {turn}: the judge found the reply does not achieve it ({verdict.verdict})",
            )


async def caller_says(model: llm.LLM, ctx: ChatContext, timeout: float) -> str:
    async def collect() -> str:
        response = await model.chat(chat_ctx=ctx).collect()
        return (response.text or "").strip()

    try:
        return await asyncio.wait_for(collect(), timeout)
    except TimeoutError:
        raise CaseError(f"The simulated caller's model did not answer within {timeout:g}s")
    except Exception as exc:
        raise CaseError(f"The simulated caller's model failed: {exc}")


def caller_instructions(spec: CaseSpec) -> str:
    return (
        "You are role-playing a caller on a phone call with a company's voice agent; the agent's lines are "
        "the user messages. Stay in character and say only what the caller says, in one or two short spoken "
        f"sentences.\nPersona: {spec.persona}\nYour goal: {spec.goal}\n"
        f"When your goal is reached, or clearly cannot be reached, reply with exactly {DONE_MARKER}."
    )


async def run_case(
    spec: CaseSpec,
    *,
    config: AgentConfig,
    make_llm: Callable[[], llm.LLM | Awaitable[llm.LLM]],
    limits: Limits = Limits(),
    customer_id: str = "",
) -> CaseOutcome:
    """Runs one case to its verdict. Never raises for the case's own problems: a failed
    expectation is `fail`, anything that kept it from being evaluated is `error`."""
    out = CaseOutcome()
    records: list[TurnRecord] = []
    control = TestControl()
    errors: list[str] = []
    config = config.with_variables(spec.variables)

    async def new_llm() -> llm.LLM:
        made = make_llm()
        return await made if inspect.isawaitable(made) else made

    model, judge_llm = await new_llm(), await new_llm()
    caller_llm = await new_llm() if spec.kind == "simulated" else None

    session = text_only_session(model, turn_timeout=limits.turn_timeout, on_turn=records.append, errors=errors)
    history = ChatContext.empty()
    greeting = config.first_message.strip()
    if greeting:
        history.add_message(role="assistant", content=greeting)
        records.append(TurnRecord(role=TurnRole.ASSISTANT, content=greeting))
    call = CallInfo(
        call_id=0,
        customer_id=customer_id,
        agent_id=config.agent_id,
        direction="web",
        from_number="",
        to_number="",
        room_name="",
        is_simulation=True,
    )
    agent = MorpheusAgent(config, call=call, control=control, chat_ctx=history, greet=False)
    mock_tools(MorpheusAgent, build_mocks(config, spec.tool_mocks, out.unmocked_tools), session=session)

    async def turn(user_text: str) -> RunResult:
        if control.ending:
            raise Failed(
                turn=None,
                expectation="conversation",
                expected="the call still open",
                actual=f"the agent ended the call ({control.end_reason})",
                message="The agent ended the call before the test's turns were over",
            )
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(session.run(user_input=user_text), limits.turn_timeout)
        except TimeoutError:
            raise CaseError(f"The agent did not answer within {limits.turn_timeout:g}s")
        if errors:
            raise CaseError(f"The agent's language model failed: {errors[0]}")
        logger.debug("turn took %.0f ms", (time.monotonic() - started) * 1000)
        return result

    try:
        await session.start(agent, record=False)
        if spec.kind == "simulated":
            await _simulated(spec, session, turn, caller_llm, judge_llm, greeting, limits, out)
        else:
            for index, step in enumerate(spec.turns):
                result = await turn(step["user"])
                await check_turn(index, step.get("expect") or {}, result, session, judge_llm, limits, out)
    except Failed as exc:
        out.verdict, out.failure = "fail", exc.failure
    except CaseError as exc:
        out.verdict, out.error_message = "error", str(exc)
    except Exception as exc:  # a bug or an unexpected runtime failure: this case only
        logger.exception("test case %r crashed", spec.name)
        out.verdict, out.error_message = "error", f"{type(exc).__name__}: {exc}"
    finally:
        try:
            await asyncio.wait_for(session.aclose(), 10)
        except Exception:
            logger.warning("could not close the test session cleanly", exc_info=True)
        for each in (model, judge_llm, caller_llm):
            if each is not None:
                await each.aclose()
    out.transcript = [transcript_entry(r) for r in records]
    out.unmocked_tools = sorted(set(out.unmocked_tools))
    return out


async def _simulated(spec, session, turn, caller_llm, judge_llm, greeting, limits, out) -> None:
    """An LLM plays the caller until it says it is done, the agent ends the call, or
    maxTurns; then a judge decides whether the caller's goal was reached."""
    caller_ctx = ChatContext.empty()
    caller_ctx.add_message(role="system", content=caller_instructions(spec))
    caller_ctx.add_message(role="user", content=greeting or "(the agent picks up and waits for you to speak)")
    for _ in range(spec.max_turns):
        said = await caller_says(caller_llm, caller_ctx, limits.turn_timeout)
        if not said or DONE_MARKER in said:
            break
        result = await turn(said)
        caller_ctx.add_message(role="assistant", content=said)
        caller_ctx.add_message(role="user", content=reply_text(result) or "(silence)")
        if session.current_agent.control.ending:
            break
    criteria = f"The caller's goal was: {spec.goal}. Pass only if the conversation shows this goal was reached."
    verdict = await judge(judge_llm, criteria=criteria, chat_ctx=session.history, timeout=limits.judge_timeout)
    out.judgments.append(
        {"turn": None, "criteria": spec.goal, "verdict": verdict.verdict, "reasoning": verdict.reasoning}
    )
    if not verdict.passed:
        raise Failed(
            turn=None,
            expectation="goal",
            expected=spec.goal,
            actual=f"{verdict.verdict}: {verdict.reasoning}",
            reasoning=verdict.reasoning,
            message="The judge found the simulated caller's goal was not reached",
        )
