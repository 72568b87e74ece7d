"""Agent settings -> AgentSession options, and the end-of-turn model's fallback to VAD."""

import logging

import pytest

from agents.tests.factories import AgentFactory
from voice_worker import session_options
from voice_worker.config import AgentConfig
from voice_worker.providers import PipelineModels

pytestmark = pytest.mark.django_db


class Model:
    """Stands for a plugin instance: options are decided from the configuration alone."""


def options(**voice_settings):
    config = AgentConfig.from_agent(AgentFactory(voice_settings=voice_settings, interruption_min_duration=0.7))
    models = PipelineModels(llm=Model(), stt=Model(), tts=Model(), vad=Model())
    return session_options.turn_handling(config, models, text_mode=False)


def test_every_setting_reaches_the_session():
    handling = options(
        turnDetection="stt",
        endpointingMinDelay=0.2,
        endpointingMaxDelay=4.0,
        interruptionMinWords=3,
        falseInterruptionTimeout=None,
        resumeFalseInterruption=False,
        preemptiveGeneration=False,
    )
    assert handling == {
        "turn_detection": "stt",
        "endpointing": {"mode": "fixed", "min_delay": 0.2, "max_delay": 4.0},
        "interruption": {
            "enabled": True,
            "min_duration": 0.7,
            "min_words": 3,
            "false_interruption_timeout": None,
            "resume_false_interruption": False,
            "mode": "vad",
        },
        "preemptive_generation": {"enabled": False},
    }


def test_the_stall_budget_bounds_every_provider_attempt():
    config = AgentConfig.from_agent(AgentFactory(voice_settings={"providerTimeoutSeconds": 1.5}))
    conn = session_options.conn_options(config)
    assert (conn.llm_conn_options.timeout, conn.llm_conn_options.max_retry) == (1.5, 0)
    assert (conn.tts_conn_options.timeout, conn.tts_conn_options.max_retry) == (1.5, 0)


def test_without_its_weights_the_model_falls_back_to_vad_and_says_so_once(monkeypatch, caplog):
    monkeypatch.setattr(session_options, "_turn_model_warned", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="voice_worker.session_options"):
        assert options(turnDetection="model")["turn_detection"] == "vad"
        assert options(turnDetection="model")["turn_detection"] == "vad"
    warnings = [r for r in caplog.records if "end-of-turn model weights not downloaded" in r.getMessage()]
    assert len(warnings) == 1


def test_the_weights_location_is_the_plugins():
    from livekit.plugins.turn_detector.models import HG_MODEL, MODEL_REVISIONS, ONNX_FILENAME

    assert session_options.TURN_MODEL_REPO == HG_MODEL
    assert f"onnx/{ONNX_FILENAME}" == session_options.TURN_MODEL_FILE
    assert set(session_options.TURN_MODEL_REVISIONS) == set(MODEL_REVISIONS.values())
