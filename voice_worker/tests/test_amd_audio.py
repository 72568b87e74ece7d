"""Answering-machine detection on real audio: livekit-agents' AMD in the real job code
(`run_job`), fed espeak-ng speech through the real Silero VAD and the real Deepgram and
OpenAI plugins, against the stand-ins speaking those wire protocols (audio_harness.py).

The Deepgram stand-in transcribes by script; the OpenAI stand-in plays the AMD model: it
answers the library's classification request (its prompt, `save_prediction` tool) by the
greeting's words, so the verdict depends on what was said and how long it lasted (a short
"Hello?" is a person by the library's timing rule before any model is asked).

Slow (real-time audio): marked `audio` and `slow`."""

import numpy
import pytest

from calls.models import AnsweredBy, Call, CallDirection, CallStatus, EndReason
from testsupport.audio import SAMPLE_RATE, espeak_available, seconds, utterance
from testsupport.voice_providers import (
    SECONDS_PER_WORD,
    DeepgramServer,
    ElevenLabsServer,
    OpenAIServer,
    Reply,
)

from .audio_harness import point_at_stand_ins, run_audio_call, until, voice_agent_fields

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.audio,
    pytest.mark.slow,
    pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"),
]

GREETING = "Hi, you have reached Sam Carter. I can not take your call right now. Please leave a message after the tone."
VOICEMAIL_MESSAGE = "Hi Sam, this is Acme about your renewal, please call us back."
FIRST_MESSAGE = "Hello, this is Acme calling about your renewal."
AMD_PROMPT_START = "Task:\nClassify the call greeting transcript"


def beep(duration: float = 0.6, frequency: float = 1000.0) -> bytes:
    t = numpy.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
    return (9000 * numpy.sin(2 * numpy.pi * frequency * t)).astype("<i2").tobytes()


def silence(duration: float) -> bytes:
    return bytes(int(duration * SAMPLE_RATE) * 2)


class AMDModel:
    """The stand-in model's side of the library's AMD request: machine-vm when the
    greeting invites a message, human otherwise; every request is kept."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def __call__(self, body: dict) -> Reply | None:
        messages = body.get("messages", [])
        system = messages[0].get("content", "") if messages else ""
        if not isinstance(system, str) or not system.startswith(AMD_PROMPT_START):
            return None  # the agent's own conversation: the script answers
        self.requests.append(body)
        transcript = messages[-1]["content"].lower()
        label = "machine-vm" if "leave a message" in transcript or "after the tone" in transcript else "human"
        return Reply(tool_call=("save_prediction", {"label": label}))


@pytest.fixture
def stand_ins(settings, livekit_server):
    model = AMDModel()
    with (
        OpenAIServer(responder=model) as openai,
        DeepgramServer() as deepgram,
        ElevenLabsServer() as elevenlabs,
    ):
        point_at_stand_ins(settings, openai=openai, deepgram=deepgram, elevenlabs=elevenlabs)
        yield model, openai, deepgram, elevenlabs


def outbound_call(make_call, voicemail: dict):
    return make_call(
        call={"direction": CallDirection.OUTBOUND, "status": CallStatus.RINGING},
        voice_settings={"voicemail": voicemail},
        **voice_agent_fields(first_message=FIRST_MESSAGE),
    )


def spoken(elevenlabs) -> list[str]:
    return [synthesis.text for synthesis in elevenlabs.syntheses]


@pytest.mark.parametrize("action", ["hangup", "leave_message"])
def test_a_voicemail_greeting_and_its_beep_are_a_machine(make_call, stand_ins, action):
    model, _openai, deepgram, elevenlabs = stand_ins
    deepgram.script = [GREETING]
    call = outbound_call(make_call, {"action": action, "message": VOICEMAIL_MESSAGE})
    greeting = utterance(GREETING)
    assert seconds(greeting) > 4.0  # well past the library's 2.5 s "a person says hello" rule

    async def scenario(runner, audio):
        audio.input.say(greeting + silence(0.4) + beep() + silence(0.2))
        await until(lambda: runner.ending, timeout=40)
        await runner.wait_closed()

    runner = run_audio_call(call, scenario, timeout=60)

    call = Call.objects.get(pk=call.pk)
    assert call.answered_by == AnsweredBy.MACHINE
    assert call.end_reason == EndReason.VOICEMAIL and call.status == CallStatus.COMPLETED
    # The library asked the model with its own prompt, the greeting's transcript and its tools.
    request = model.requests[0]
    assert request["messages"][-1]["content"] == GREETING
    assert {tool["function"]["name"] for tool in request["tools"]} >= {"save_prediction"}
    if action == "hangup":
        assert VOICEMAIL_MESSAGE not in spoken(elevenlabs)
    else:
        assert VOICEMAIL_MESSAGE in spoken(elevenlabs)
    # The agent never talked over the greeting: it waits for the callee, and AMD's verdict.
    greeting_ended = runner.audio.input.spoke_at[0][1]
    assert all(segment.started_at >= greeting_ended for segment in runner.audio.output.segments)
    assert FIRST_MESSAGE not in spoken(elevenlabs)
    played = [segment for segment in runner.audio.output.segments if segment.played]
    if action == "hangup":
        assert spoken(elevenlabs) == [] and played == []
    else:
        assert spoken(elevenlabs) == [VOICEMAIL_MESSAGE]
        [message] = played  # said in full after the beep, then the call ended
        assert not message.interrupted
        assert message.played == pytest.approx(len(VOICEMAIL_MESSAGE.split()) * SECONDS_PER_WORD, abs=0.1)


def test_a_short_hello_is_a_person_and_the_agent_talks(make_call, stand_ins):
    model, _openai, deepgram, elevenlabs = stand_ins
    deepgram.script = ["Hello?"]
    call = outbound_call(make_call, {"action": "leave_message", "message": VOICEMAIL_MESSAGE})
    hello = utterance("Hello?")
    assert seconds(hello) < 1.5

    async def scenario(runner, audio):
        audio.input.say(hello)
        # The agent carries on with a person: its greeting is heard in full.
        await until(
            lambda: any(s.ended_at and not s.interrupted and s.played > 1.0 for s in audio.output.segments),
            timeout=30,
        )

    runner = run_audio_call(call, scenario, timeout=60)

    call = Call.objects.get(pk=call.pk)
    assert call.answered_by == AnsweredBy.HUMAN
    assert call.end_reason == EndReason.CALLER_HUNG_UP  # the harness hung up, not AMD
    assert VOICEMAIL_MESSAGE not in spoken(elevenlabs)
    assert runner is not None
    heard = [s for s in runner.audio.output.segments if s.played > 1.0]
    assert heard and heard[0].played <= len(FIRST_MESSAGE.split()) * SECONDS_PER_WORD + 0.1
    # The greeting answered the callee's hello, once, instead of a model reply (the
    # session may have started one preemptively: it was dropped, never said).
    assert spoken(elevenlabs) == [FIRST_MESSAGE]
    # AMD asked the model only if the transcript beat the library's short-greeting rule.
    assert [r["messages"][-1]["content"] for r in model.requests] in ([], ["Hello?"])
