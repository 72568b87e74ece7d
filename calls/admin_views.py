"""What the platform admin's call page shows beyond plain fields: the conversation as
alternating turns (calls/admin.py renders it read-only), the analysis as fields, the
recording as an <audio> player, the cost as a small table."""

from __future__ import annotations

import json

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from .models import Call, TurnRole
from .recordings import recording_url

SPEAKERS = {TurnRole.USER: "Caller", TurnRole.ASSISTANT: "Agent", TurnRole.TOOL: "Tool", TurnRole.SYSTEM: "System"}
LATENCY = (
    ("end_of_turn_delay_ms", "end of turn"),
    ("llm_ttft_ms", "LLM TTFT"),
    ("tts_ttfb_ms", "TTS TTFB"),
    ("e2e_latency_ms", "end to end"),
)


def _offset(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"+{seconds // 60}:{seconds % 60:02d}"


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def conversation_html(call: Call) -> str:
    start = call.answered_at or call.started_at
    turns = []
    for turn in call.turns.all():
        payload = json.dumps(turn.tool_payload, indent=2, ensure_ascii=False) if turn.tool_payload else ""
        turns.append(
            {
                "role": turn.role,
                "speaker": SPEAKERS.get(turn.role, turn.role),
                "clock": turn.created_at.strftime("%H:%M:%S"),
                "iso": turn.created_at.isoformat(timespec="seconds"),
                "offset": _offset((turn.created_at - start).total_seconds()),
                "content": turn.content,
                "tool_name": turn.tool_name,
                "tool_payload": payload,
                "latency": [
                    (label, _number(getattr(turn, field)))
                    for field, label in LATENCY
                    if getattr(turn, field) is not None
                ],
            }
        )
    return render_to_string("admin/calls/call/conversation.html", {"turns": turns})


def analysis_html(call: Call):
    analysis = call.analysis or {}
    if not analysis:
        return "-"
    rows = [("Status", analysis.get("status"))]
    if analysis.get("error"):
        rows.append(("Why", analysis["error"]))
    if analysis.get("summary"):
        rows.append(("Summary", analysis["summary"]))
    if analysis.get("successful") is not None:
        rows.append(("Successful", "yes" if analysis["successful"] else "no"))
    if analysis.get("score") is not None:
        rows.append(("Score", f"{analysis['score']} / 10"))
    if analysis.get("sentiment"):
        rows.append(("Sentiment", analysis["sentiment"]))
    for name, value in (analysis.get("data") or {}).items():
        rows.append((name, "-" if value is None else value))
    if analysis.get("model"):
        rows.append(("Model", analysis["model"]))
    body = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows)
    return format_html('<table id="call-analysis">{}</table>', body)


def recording_html(call: Call):
    url = recording_url(call)
    if url:
        return format_html('<audio id="call-recording" controls preload="none" src="{}"></audio>', url)
    return call.recording_status or "not recorded"


def cost_html(call: Call):
    cost = call.cost_breakdown
    if not cost:
        return "-"
    rows = [(name, value) for name, value in cost.get("breakdown", {}).items()]
    body = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
    return format_html(
        '<table id="call-cost"><tr><th>Total</th><th>{} {}</th></tr>{}</table>', cost["total"], cost["currency"], body
    )
