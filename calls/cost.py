"""What a call cost: usage from its transcript (and its analysis) priced with the platform
price table: the `UnitPrice` lines platform admins edit (per vendor and model), and for
anything without a line the settings (defaults below, PRICE_TABLE overrides any of them).

The lines are read once per process and kept until one is saved or deleted: the save
bumps a version in the shared cache, and every process reloads when it sees a new one
(a cache read, no query, per priced call). A bump lost while the cache was down would
leave other processes on old prices, so the lines are also read again once they are
LINES_MAX_AGE_SECONDS old: a missed change prices at most that long.

    cost_breakdown = {
      "total": 0.0213, "currency": "USD",
      "breakdown": {"llm": ..., "tts": ..., "stt": ..., "telephony": ..., "platform": ..., "analysis": ...},
      "usage": {"promptTokens", "completionTokens", "ttsCharacters", "sttSeconds", "minutes",
                "analysisPromptTokens", "analysisCompletionTokens"},
    }
"""

from __future__ import annotations

import logging
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.cache import cache

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
logger = logging.getLogger(__name__)


# The analysis model's prices (the LLM items, looked up for the analysis model).
ANALYSIS_PROMPT, ANALYSIS_COMPLETION = "analysisPromptPerMillionTokens", "analysisCompletionPerMillionTokens"
VERSION_KEY = "calls:price-table-version"
LINES_MAX_AGE_SECONDS = 300
_loaded: dict = {"version": None, "lines": {}, "at": 0.0}


def price_table() -> dict:
    """The settings' prices: what an item costs when no UnitPrice line matches."""
    return {**DEFAULT_PRICES, **(settings.PRICE_TABLE or {})}


def forget_price_lines() -> None:
    """This process reads the lines again on its next pricing."""
    _loaded["version"] = None


def price_lines_changed() -> None:
    """Called when a UnitPrice line is saved or deleted: every process reloads the lines."""
    forget_price_lines()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # noqa: BLE001 - cache down: the other processes keep their lines until it is back
        logger.warning("Price table changed but the shared cache is unavailable: other processes keep old prices")


def _lines() -> dict[tuple[str, str, str], Decimal]:
    from .models import UnitPrice

    try:
        version = cache.get(VERSION_KEY) or "initial"
    except Exception:  # noqa: BLE001 - cache down: read the table every time rather than price stale
        version = None
    now = time.monotonic()
    if version is None or version != _loaded["version"] or now - _loaded["at"] >= LINES_MAX_AGE_SECONDS:
        _loaded["lines"] = {(line.item, line.vendor, line.model): line.price for line in UnitPrice.objects.all()}
        _loaded["version"] = version
        _loaded["at"] = now
    return _loaded["lines"]


def unit_prices(parts: dict[str, tuple[str, str, str]]) -> dict:
    """The prices for one call: `parts` maps a price key to (item, vendor, model), the
    item (a PriceItem) bought from that vendor and model. The most specific UnitPrice line
    wins (vendor and model, vendor, model, neither), then the settings."""
    lines = _lines()
    prices = price_table()
    for key, (item, vendor, model) in parts.items():
        for line in ((item, vendor, model), (item, vendor, ""), (item, "", model), (item, "", "")):
            if line in lines:
                prices[key] = lines[line]
                break
        else:
            prices[key] = prices[item]
    return prices


def call_unit_prices(call) -> dict:
    """The prices of `call`'s work: its agent's LLM, STT and TTS vendors and models, its
    carrier, and the analysis model (OpenAI-compatible)."""
    agent = call.agent
    llm = (agent.llm_provider.vendor, agent.effective_llm_model) if agent else ("", "")
    tts = (agent.tts_provider.vendor, agent.effective_tts_model) if agent else ("", "")
    stt = (agent.stt_provider.vendor, agent.effective_stt_model) if agent else ("", "")
    analysis = ("openai", (call.analysis or {}).get("model") or "")
    prompt, completion = "llmPromptPerMillionTokens", "llmCompletionPerMillionTokens"
    return unit_prices(
        {
            prompt: (prompt, *llm),
            completion: (completion, *llm),
            "ttsPerThousandCharacters": ("ttsPerThousandCharacters", *tts),
            "sttPerMinute": ("sttPerMinute", *stt),
            "telephonyPerMinute": ("telephonyPerMinute", call.carrier, ""),
            "platformPerMinute": ("platformPerMinute", "", ""),
            ANALYSIS_PROMPT: (prompt, *analysis),
            ANALYSIS_COMPLETION: (completion, *analysis),
        }
    )


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
        "analysis": _d(usage["analysisPromptTokens"])
        * _d(p.get(ANALYSIS_PROMPT, p["llmPromptPerMillionTokens"]))
        / million
        + _d(usage["analysisCompletionTokens"])
        * _d(p.get(ANALYSIS_COMPLETION, p["llmCompletionPerMillionTokens"]))
        / million,
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
    telephony = bool(call.carrier) and not call.is_simulation
    return price(call_usage(call, turns), telephony=telephony, prices=call_unit_prices(call))
