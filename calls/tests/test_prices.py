"""The platform price table: UnitPrice lines edited in the admin price calls by vendor and
model, the settings price the rest, and the lines are cached per process until one changes."""

from decimal import Decimal

import pytest
from django.test import Client

from agents.tests.factories import AgentFactory
from calls import cost, services
from calls.models import CallStatus, PriceItem, UnitPrice
from calls.tests.factories import CallFactory, TranscriptTurnFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(customer_a):
    # Catalogue defaults: LLM openai/gpt-4o-mini, STT deepgram/nova-3, TTS openai/gpt-4o-mini-tts.
    return AgentFactory(customer=customer_a)


def priced_call(agent, *, carrier="twilio"):
    """120 s on the phone; 1M prompt and 100k completion tokens, 2,000 TTS characters, 30 s of STT."""
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED, duration=120, carrier=carrier)
    TranscriptTurnFactory(
        call=call, role="assistant", prompt_tokens=1_000_000, completion_tokens=100_000, tts_characters=2_000
    )
    TranscriptTurnFactory(call=call, role="user", audio_seconds=30.0)
    return services.call_finalize(call=call)


def test_without_lines_the_settings_price_the_call(agent, settings):
    settings.PRICE_TABLE = {"telephonyPerMinute": "0.01"}
    call = priced_call(agent)
    # llm 1M*0.15/M + 100k*0.60/M = 0.21; tts 2k*0.015/k = 0.03; stt 0.5 min*0.0043 = 0.00215;
    # telephony 2 min*0.01 (PRICE_TABLE) = 0.02; platform 2 min*0.02 = 0.04.
    assert call.cost_breakdown["breakdown"] == {
        "llm": 0.21,
        "tts": 0.03,
        "stt": 0.0022,
        "telephony": 0.02,
        "platform": 0.04,
        "analysis": 0.0,
    }
    assert call.cost == Decimal("0.3022")


def test_the_most_specific_line_wins(agent):
    UnitPrice.objects.create(item=PriceItem.LLM_PROMPT, price="1.00")  # any vendor
    UnitPrice.objects.create(item=PriceItem.LLM_PROMPT, vendor="openai", price="2.00")
    UnitPrice.objects.create(item=PriceItem.LLM_PROMPT, vendor="openai", model="gpt-4o-mini", price="0.50")
    UnitPrice.objects.create(item=PriceItem.LLM_COMPLETION, vendor="openai", model="gpt-4o", price="99")  # not ours
    UnitPrice.objects.create(item=PriceItem.TTS, vendor="openai", price="0.10")
    UnitPrice.objects.create(item=PriceItem.TELEPHONY, vendor="telnyx", price="0.005")
    UnitPrice.objects.create(item=PriceItem.TELEPHONY, vendor="twilio", price="0.02")
    call = priced_call(agent)
    breakdown = call.cost_breakdown["breakdown"]
    assert breakdown["llm"] == 0.56  # 1M * 0.50/M + 100k * 0.60/M (completion: settings)
    assert breakdown["tts"] == 0.2  # 2k * 0.10/k
    assert breakdown["telephony"] == 0.04  # twilio: 2 min * 0.02
    assert breakdown["platform"] == 0.04  # settings


def test_a_saved_line_prices_the_next_call_and_the_cache_spares_the_query(agent, django_assert_num_queries):
    line = UnitPrice.objects.create(item=PriceItem.PLATFORM, price="0.10")
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.2
    # Loaded once: pricing another call reads no price line.
    call = CallFactory(agent=agent, carrier="")
    call = (
        type(call)
        .objects.select_related("agent__llm_provider", "agent__stt_provider", "agent__tts_provider")
        .get(pk=call.pk)
    )
    with django_assert_num_queries(0):
        assert cost.call_unit_prices(call)["platformPerMinute"] == Decimal("0.10")
    line.price = Decimal("0.30")
    line.save()
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.6
    line.delete()
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.04  # back to settings


def test_another_process_sees_a_change_through_the_shared_version(agent):
    UnitPrice.objects.create(item=PriceItem.PLATFORM, price="0.10")
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.2
    # A write another process made: no signal here, only the version in the shared cache.
    UnitPrice.objects.filter(item=PriceItem.PLATFORM).update(price="0.05")
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.2  # still cached
    cost.price_lines_changed()
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.1


def test_a_change_whose_version_bump_was_lost_prices_calls_after_the_lines_max_age(agent, monkeypatch):
    UnitPrice.objects.create(item=PriceItem.PLATFORM, price="0.10")
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.2
    # Another process changed a line while the shared cache was down: no version bump arrives.
    UnitPrice.objects.filter(item=PriceItem.PLATFORM).update(price="0.05")
    loaded_at = cost._loaded["at"]
    monkeypatch.setattr(cost.time, "monotonic", lambda: loaded_at + cost.LINES_MAX_AGE_SECONDS - 1)
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.2  # still within the max age
    monkeypatch.setattr(cost.time, "monotonic", lambda: loaded_at + cost.LINES_MAX_AGE_SECONDS)
    assert priced_call(agent).cost_breakdown["breakdown"]["platform"] == 0.1


def test_the_admin_edits_the_table(platform_admin, agent):
    client = Client()
    client.force_login(platform_admin)
    response = client.post(
        "/admin/calls/unitprice/add/",
        {"item": PriceItem.STT, "vendor": "deepgram", "model": "", "price": "0.5"},
    )
    assert response.status_code == 302, response.content
    assert UnitPrice.objects.get().price == Decimal("0.5")
    page = client.get("/admin/calls/unitprice/")
    assert page.status_code == 200 and b"sttPerMinute" in page.content
    # Priced from then on: 0.5 min of STT at 0.5/min.
    assert priced_call(agent).cost_breakdown["breakdown"]["stt"] == 0.25
    duplicate = client.post(
        "/admin/calls/unitprice/add/",
        {"item": PriceItem.STT, "vendor": "deepgram", "model": "", "price": "0.7"},
    )
    assert duplicate.status_code == 200 and b"already exists" in duplicate.content
    assert UnitPrice.objects.get().price == Decimal("0.5")
