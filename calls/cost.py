"""What a call cost: usage from its transcript (and its analysis) priced with the platform
price table. Prices are in settings (defaults below, PRICE_TABLE overrides any of them).

    cost_breakdown = {
      "total": 0.0213, "currency": "USD",
      "breakdown": {"llm": ..., "tts": ..., "stt": ..., "telephony": ..., "platform": ..., "analysis": ...},
      "usage": {"promptTokens", "completionTokens", "ttsCharacters", "sttSeconds", "minutes",
                "analysisPromptTokens", "analysisCompletionTokens"},
    }
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

DEFAULT_PRICES = {
    "currency": "USD",
    "llmPromptPerMillionTokens": "0.15",
    "llmCompletionPerMillionTokens": "0.60",
    "ttsPerThousandCharacters": "0.015",
    "sttPerMinute": "0.0043",
    # Carrier minutes of phone calls (web simulations have none).
    "telephonyPerMinute": "0.0085",
    "platformPerMinute": "0.02",
}
FOUR_PLACES = Decimal("0.0001")


def price_table() -> dict:
    return {**DEFAULT_PRICES, **(settings.PRICE_TABLE or {})}


def _d(value) -> Decimal:
    return Decimal(str(value))


def call_usage(call, turns) -> dict:
    usage = {"promptTokens": 0, "completionTokens": 0, "ttsCharacters": 0, "sttSeconds": 0.0}
    for turn in turns:
        usage["promptTokens"] += turn.prompt_tokens or 0
        usage["completionTokens"] += turn.completion_tokens or 0
        usage["ttsCharacters"] += turn.tts_characters or 0
        usage["sttSeconds"] += turn.audio_seconds or 0.0
    usage["sttSeconds"] = round(usage["sttSeconds"], 2)
    usage["minutes"] = round((call.duration or 0) / 60, 4)
    analysis_usage = (call.analysis or {}).get("usage") or {}
    usage["analysisPromptTokens"] = analysis_usage.get("promptTokens", 0)
    usage["analysisCompletionTokens"] = analysis_usage.get("completionTokens", 0)
    return usage


def price(usage: dict, *, telephony: bool, prices: dict | None = None) -> dict:
    """The cost document of `usage` (call_usage) at `prices` (default: price_table())."""
    p = prices or price_table()
    minutes = _d(usage["minutes"])
    million, thousand = Decimal(1_000_000), Decimal(1_000)
    breakdown = {
        "llm": _d(usage["promptTokens"]) * _d(p["llmPromptPerMillionTokens"]) / million
        + _d(usage["completionTokens"]) * _d(p["llmCompletionPerMillionTokens"]) / million,
        "tts": _d(usage["ttsCharacters"]) * _d(p["ttsPerThousandCharacters"]) / thousand,
        "stt": _d(usage["sttSeconds"]) / 60 * _d(p["sttPerMinute"]),
        "telephony": minutes * _d(p["telephonyPerMinute"]) if telephony else Decimal(0),
        "platform": minutes * _d(p["platformPerMinute"]),
        "analysis": _d(usage["analysisPromptTokens"]) * _d(p["llmPromptPerMillionTokens"]) / million
        + _d(usage["analysisCompletionTokens"]) * _d(p["llmCompletionPerMillionTokens"]) / million,
    }
    rounded = {key: value.quantize(FOUR_PLACES, ROUND_HALF_UP) for key, value in breakdown.items()}
    total = sum(breakdown.values(), Decimal(0)).quantize(FOUR_PLACES, ROUND_HALF_UP)
    return {
        "total": total,
        "currency": p["currency"],
        "breakdown": {key: float(value) for key, value in rounded.items()},
        "usage": usage,
    }


def call_price(call, turns) -> dict:
    return price(call_usage(call, turns), telephony=bool(call.carrier) and not call.is_simulation)
