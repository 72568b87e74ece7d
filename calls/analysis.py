"""Post-call analysis: the agent's analysis plan (agents/analysis_plan.py) run by an LLM.

After a call is finalized, `analysis_prepare` decides whether it is analysed (a plan, at
least `minTurns` turns, inside `sampleRate`) and marks it `pending` with a run id; the
Celery task `calls.tasks.analyze_call` (through the outbox) calls `analysis_run`, which
asks the model (the `openai` package, any OpenAI-compatible base URL, the customer's own
key first) for JSON matching a schema built from the plan, validates the answer against
that schema, and stores it:

    call.analysis = {"status": "pending" | "done" | "failed" | "skipped",
                     "summary", "successful", "score", "sentiment", "data": {...},
                     "model", "usage": {"promptTokens", "completionTokens"},
                     "error", "runId", "attempts", "analyzedAt"}

Transport errors and answers that do not match the schema are retried (the task's
backoff) up to ANALYSIS_MAX_ATTEMPTS, then the analysis is `failed` with the reason.
A re-run (POST /calls/:id/analyze) gets a new run id, so a late answer of an older run
is dropped, never stored over the new one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

import openai
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from agents.analysis_plan import result_schema
from analytics.rollups import call_changed as rollups_call_changed
from morpheus import outbox
from morpheus.errors import Conflict, ServiceUnavailable
from tenants.credentials import platform_key_setting, provider_credential

from .cost import call_price
from .models import Call, TurnRole

logger = logging.getLogger(__name__)

PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
SUCCESS_SCORE = 7  # score_1_10 rubrics: this score or better counts as successful
TRANSCRIPT_MAX_CHARS = 60_000


class AnalysisRetry(Exception):
    """A transient failure or an invalid answer: worth another attempt."""


def _in_sample(call_id: int, rate: float) -> bool:
    """Deterministic per call, so a retried task decides the same way."""
    digest = hashlib.sha256(f"analysis:{call_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


def _conversation_turns(turns) -> int:
    return sum(1 for t in turns if t.role in (TurnRole.USER, TurnRole.ASSISTANT))


def _save(call: Call, analysis: dict) -> Call:
    """Stores `analysis` (and the re-priced cost) on the locked row, and moves the rollup."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    locked.analysis = analysis
    fields = ["analysis", "updated_at"]
    if analysis.get("usage") and locked.cost_breakdown is not None:
        locked.cost_breakdown = _cost_document(locked)
        locked.cost = locked.cost_breakdown["total"]
        fields += ["cost", "cost_breakdown"]
    locked.save(update_fields=fields)
    rollups_call_changed(locked)
    return locked


def _cost_document(call: Call) -> dict:
    document = call_price(call, list(call.turns.all()))
    return {**document, "total": float(document["total"])}


@transaction.atomic
def analysis_prepare(*, call: Call, force: bool = False) -> Call:
    """Marks the call pending and enqueues the analysis, or skipped with the reason.
    force (a re-run from the API) ignores minTurns and sampleRate, not a missing plan."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if locked.is_open:
        raise Conflict(f"Call with ID {locked.pk} has not ended yet")
    if not force and locked.analysis:
        return locked  # finalize ran again (at-least-once): the first decision stands
    plan = locked.agent.analysis_plan if locked.agent else None
    if not plan:
        if force:
            raise Conflict(f"Call with ID {locked.pk} has no analysis plan: set one on its agent")
        return locked
    reason = ""
    if not force:
        if _conversation_turns(locked.turns.all()) < plan.get("minTurns", 0):
            reason = f"Fewer than {plan['minTurns']} conversation turns"
        elif not _in_sample(locked.pk, plan.get("sampleRate", 1.0)):
            reason = "Not in the sample (sampleRate)"
    if reason:
        return _save(locked, {"status": SKIPPED, "error": reason})
    run_id = uuid.uuid4().hex
    saved = _save(locked, {"status": PENDING, "runId": run_id, "attempts": 0})
    outbox.enqueue("calls.tasks.analyze_call", locked.pk, run_id)
    return saved


def _transcript(call: Call, turns) -> str:
    lines = []
    start = call.answered_at or call.started_at
    for turn in turns:
        offset = int(max(0, (turn.created_at - start).total_seconds()))
        stamp = f"[{offset // 60:02d}:{offset % 60:02d}]"
        if turn.role == TurnRole.TOOL:
            payload = json.dumps(turn.tool_payload or {}, ensure_ascii=False)[:500]
            lines.append(f"{stamp} Tool {turn.tool_name}: {payload}")
        elif turn.role in (TurnRole.USER, TurnRole.ASSISTANT):
            lines.append(f"{stamp} {'Caller' if turn.role == TurnRole.USER else 'Agent'}: {turn.content}")
    text = "\n".join(lines)
    return text[-TRANSCRIPT_MAX_CHARS:]


def _messages(call: Call, plan: dict, turns) -> list[dict]:
    instructions = [
        "You analyse a finished phone call between a caller and an AI voice agent.",
        "Answer only with JSON matching the given schema.",
        "summary: "
        + (plan.get("summaryPrompt") or "two or three sentences on what the caller wanted and the outcome."),
        "sentiment: the caller's overall sentiment.",
    ]
    rubric = plan.get("successRubric")
    if rubric:
        verdict = "successful (true/false)" if rubric["type"] == "pass_fail" else "score (1 = worst, 10 = best)"
        instructions.append(f"{verdict}: {rubric['prompt']}")
    for field in plan.get("fields", []):
        optional = "" if field.get("required") else " (null if the call does not say)"
        instructions.append(f"data.{field['name']} ({field['type']}){optional}: {field['description']}")
    return [
        {"role": "system", "content": "\n".join(instructions)},
        {"role": "user", "content": "Transcript:\n" + _transcript(call, turns)},
    ]


def _client(call: Call) -> openai.OpenAI:
    credential = provider_credential(customer_id=call.customer_id, vendor="openai")
    if credential is None:
        raise ServiceUnavailable(f"No OpenAI key for post-call analysis: set {platform_key_setting('openai')}")
    return openai.OpenAI(
        api_key=credential.api_key,
        base_url=credential.base_url or None,
        timeout=settings.ANALYSIS_TIMEOUT_SECONDS,
        max_retries=0,  # retries are the task's, with backoff
    )


def _ask(call: Call, plan: dict, turns, schema: dict) -> tuple[dict, str, dict]:
    model = plan.get("model") or settings.ANALYSIS_MODEL
    try:
        completion = _client(call).chat.completions.create(
            model=model,
            messages=_messages(call, plan, turns),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "call_analysis", "schema": schema, "strict": True},
            },
            temperature=0,
        )
    except (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError) as exc:
        raise AnalysisRetry(f"The model did not answer: {type(exc).__name__}") from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            raise AnalysisRetry(f"The model answered HTTP {exc.status_code}") from exc
        raise AnalysisRetry(f"The model refused the request: HTTP {exc.status_code}: {exc.message}"[:300]) from exc
    choice = completion.choices[0] if completion.choices else None
    content = choice.message.content if choice else None
    try:
        answer = json.loads(content or "")
    except ValueError as exc:
        raise AnalysisRetry("The model's answer is not valid JSON") from exc
    errors = sorted(Draft202012Validator(schema).iter_errors(answer), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise AnalysisRetry(f"The model's answer does not match the schema at {where}: {errors[0].message}"[:300])
    usage = completion.usage
    return (
        answer,
        completion.model or model,
        {
            "promptTokens": usage.prompt_tokens if usage else 0,
            "completionTokens": usage.completion_tokens if usage else 0,
        },
    )


def analysis_run(*, call_id: int, run_id: str, final_attempt: bool) -> str:
    """One attempt of a run. Returns done/failed/stale; raises AnalysisRetry when another
    attempt should follow (not on the final one: that stores `failed` with the reason)."""
    call = Call.objects.select_related("agent").filter(pk=call_id).first()
    if call is None or (call.analysis or {}).get("runId") != run_id or call.analysis.get("status") != PENDING:
        return "stale"
    plan = call.agent.analysis_plan if call.agent else None
    if not plan:
        _finish(call, run_id, {"status": SKIPPED, "error": "The agent no longer has an analysis plan"})
        return SKIPPED
    turns = list(call.turns.all())
    schema = result_schema(plan)
    attempts = call.analysis.get("attempts", 0) + 1
    try:
        answer, model, usage = _ask(call, plan, turns, schema)
    except ServiceUnavailable as exc:
        _finish(call, run_id, {"status": FAILED, "error": exc.message, "attempts": attempts})
        return FAILED
    except AnalysisRetry as exc:
        logger.warning("Analysis of call %s, attempt %s: %s", call_id, attempts, exc)
        if final_attempt:
            _finish(call, run_id, {"status": FAILED, "error": str(exc), "attempts": attempts})
            return FAILED
        _finish(call, run_id, {"status": PENDING, "error": str(exc), "attempts": attempts})
        raise
    score = answer.get("score")
    successful = answer.get("successful")
    if score is not None:
        successful = score >= SUCCESS_SCORE
    _finish(
        call,
        run_id,
        {
            "status": DONE,
            "summary": answer["summary"],
            "sentiment": answer["sentiment"],
            "successful": successful,
            "score": score,
            "data": answer["data"],
            "model": model,
            "usage": usage,
            "attempts": attempts,
            "analyzedAt": timezone.now().isoformat(),
        },
    )
    return DONE


@transaction.atomic
def _finish(call: Call, run_id: str, analysis: dict) -> None:
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if (locked.analysis or {}).get("runId") != run_id:
        return  # a newer run replaced this one meanwhile
    saved = _save(locked, {"runId": run_id, **analysis})
    if analysis["status"] in (DONE, FAILED):
        _emit_analyzed(saved)


def _emit_analyzed(call: Call) -> None:
    """`call.analyzed` to the tenant's webhook endpoints (integrations), in this transaction."""
    from integrations import events

    from .serializers import CallDetail

    events.emit(
        customer_id=call.customer_id,
        event_type="call.analyzed",
        data=lambda: CallDetail(call).data,
        agent_id=call.agent_id,
    )


def public_analysis(analysis: dict | None) -> dict | None:
    """What the API shows: the bookkeeping keys (run id) left out."""
    if not analysis:
        return None
    shown = ("status", "summary", "successful", "score", "sentiment", "data", "model", "usage", "error", "analyzedAt")
    return {key: analysis.get(key) for key in shown}
