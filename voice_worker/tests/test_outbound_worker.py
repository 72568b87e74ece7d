"""The voice worker's outbound pieces: variables, the lease heartbeat, AMD verdicts and
the voicemail decision (the library's own AMDPredictionEvent)."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from livekit.agents.voice.amd import AMDCategory, AMDPredictionEvent

from agents.tests.factories import AgentFactory
from calls import leases
from calls.models import CallDirection, EndReason
from calls.tests.factories import CallFactory
from testsupport.api import assert_error, assert_success
from voice_worker import outbound
from voice_worker.config import AgentConfig, call_info


def verdict(category: AMDCategory) -> AMDPredictionEvent:
    return AMDPredictionEvent(speech_duration=1.0, category=category, reason="test", transcript="hi", delay=0.5)


@pytest.mark.parametrize(
    ("category", "answered_by"),
    [
        (AMDCategory.HUMAN, "human"),
        (AMDCategory.MACHINE_VM, "machine"),
        (AMDCategory.MACHINE_IVR, "machine"),
        (AMDCategory.MACHINE_UNAVAILABLE, "machine"),
        (AMDCategory.UNCERTAIN, "unknown"),
    ],
)
def test_amd_verdicts_become_answered_by(category, answered_by):
    assert outbound.answered_by_for(verdict(category)) == answered_by


LEAVE = {"action": "leave_message", "message": "Hi, it's Acme, call us back."}


@pytest.mark.parametrize(
    ("voicemail", "category", "expected"),
    [
        (LEAVE, AMDCategory.HUMAN, None),
        (LEAVE, AMDCategory.UNCERTAIN, None),
        (LEAVE, AMDCategory.MACHINE_VM, outbound.VoicemailPlan(EndReason.VOICEMAIL, LEAVE["message"])),
        # A full or missing mailbox takes no message: hang up.
        (LEAVE, AMDCategory.MACHINE_UNAVAILABLE, outbound.VoicemailPlan(EndReason.VOICEMAIL, "")),
        ({"action": "hangup", "message": ""}, AMDCategory.MACHINE_VM, outbound.VoicemailPlan(EndReason.VOICEMAIL, "")),
        (None, AMDCategory.MACHINE_IVR, outbound.VoicemailPlan(EndReason.VOICEMAIL, "")),
    ],
)
def test_the_voicemail_plan(voicemail, category, expected):
    assert outbound.voicemail_plan(voicemail, verdict(category)) == expected


@pytest.mark.django_db
def test_variables_fill_the_prompt_and_first_message(customer_a):
    agent = AgentFactory(
        customer=customer_a, system_prompt="Call {{name}} about {{ order }}.", first_message="Hi {{name}}"
    )
    config = AgentConfig.from_agent(agent)
    filled = config.with_variables({"name": "Ada", "order": "42"})
    assert (filled.system_prompt, filled.first_message) == ("Call Ada about 42.", "Hi Ada")
    assert config.with_variables(None) is config


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_the_lease_alive_and_takes_it_back_after_a_loss(customer_a, settings):
    call = CallFactory(agent=AgentFactory(customer=customer_a), direction=CallDirection.OUTBOUND)
    info = call_info(call)
    past = time.time() - settings.CALL_LEASE_TTL_SECONDS + 1  # about to expire
    assert leases.acquire(customer_id=customer_a.pk, call_id=call.id, direction=leases.OUTBOUND, now=past)

    async def scenario():
        heartbeat = outbound.heartbeat_for(info)
        await asyncio.sleep(0.2)
        await heartbeat.stop()
        await sync_to_async(connections.close_all)()  # the executor thread's connection
        return heartbeat

    heartbeat = asyncio.run(scenario())
    # Renewed: still held a whole TTL from now.
    assert leases.held(customer_a.pk, now=time.time() + settings.CALL_LEASE_TTL_SECONDS - 5)["outbound"] == [
        f"call:{call.id}"
    ]
    leases.release(customer_id=customer_a.pk, call_id=call.id)  # lost (e.g. expired in a Redis outage)

    async def beat_once():
        try:
            return await heartbeat.beat()
        finally:
            await sync_to_async(connections.close_all)()

    assert asyncio.run(beat_once()) is True
    assert leases.in_use(customer_a.pk) == 1


@pytest.mark.django_db
def test_the_voicemail_setting_is_validated(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    url = f"/api/v1/agents/{agent.id}"
    data = assert_success(alice_client.patch(url, {"voiceSettings": {"voicemail": LEAVE}}, format="json"))
    assert data["voiceSettings"]["voicemail"] == LEAVE
    bad = {"voiceSettings": {"voicemail": {"action": "leave_message", "message": " "}}}
    assert_error(alice_client.patch(url, bad, format="json"), 400, fields=["voiceSettings.voicemail.message"])
    bad = {"voiceSettings": {"voicemail": {"action": "sing"}}}
    assert_error(alice_client.patch(url, bad, format="json"), 400, fields=["voiceSettings.voicemail.action"])
