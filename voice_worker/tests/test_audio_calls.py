"""Calls carried as audio, end to end, without a LiveKit server (see audio_harness.py).

Slow (real-time audio): marked `audio` and `slow`; `make test` runs them, `make test-fast` skips them."""

import asyncio
import datetime
import time

import pytest
from livekit.protocol.models import ParticipantInfo

from agents.models import LLMProvider
from calls.models import Call, CallStatus, EndReason, TranscriptTurn, TurnRole
from testsupport.audio import RoomlessAudio, espeak_available, seconds, utterance
from testsupport.voice_providers import DeepgramServer, ElevenLabsServer, OpenAIServer, Reply
from voice_worker import call_runner
from voice_worker.config import DEFAULT_RECOVERY_MESSAGE, DEFAULT_REPROMPT_MESSAGE

from .audio_harness import point_at_stand_ins, run_audio_call, until, voice_agent_fields

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.audio,
    pytest.mark.slow,
    pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"),
]


@pytest.fixture
def stand_ins(settings, livekit_server):
    with OpenAIServer() as openai, DeepgramServer() as deepgram, ElevenLabsServer() as elevenlabs:
        point_at_stand_ins(settings, openai=openai, deepgram=deepgram, elevenlabs=elevenlabs)
        yield openai, deepgram, elevenlabs


def turns(call):
    return list(TranscriptTurn.objects.filter(call=call).order_by("id"))


def test_the_caller_hears_the_greeting_and_an_answer_to_what_they_said(make_call, stand_ins):
    openai, deepgram, elevenlabs = stand_ins
    deepgram.script = ["When are you open on Saturday?"]
    openai.replies = [Reply(text="We are open from nine to five on Saturdays.")]
    call = make_call(**voice_agent_fields(first_message="Hello, Acme here."))

    async def scenario(runner, audio):
        await until(lambda: len(audio.output.segments) == 1 and audio.output.segments[0].ended_at)
        await audio.input.speak("When are you open on Saturday?")
        await until(lambda: len(audio.output.segments) == 2 and audio.output.segments[1].ended_at)
        await runner.flush()

    run_audio_call(call, scenario)

    greeting, answer = elevenlabs.syntheses
    assert (greeting.voice_id, greeting.text) == ("voice-rachel", "Hello, Acme here.")
    assert answer.text == "We are open from nine to five on Saturdays."
    # The caller's speech reached Deepgram as audio, and the model got its transcript.
    [heard] = deepgram.utterances
    assert 1.0 < heard.speech_ended - heard.speech_started < 3.0
    assert openai.completions[0].messages[-1] == {"role": "user", "content": "When are you open on Saturday?"}
    rows = [(t.role, t.content, t.interrupted) for t in turns(call)]
    assert rows == [
        (TurnRole.ASSISTANT, "Hello, Acme here.", False),
        (TurnRole.USER, "When are you open on Saturday?", False),
        (TurnRole.ASSISTANT, "We are open from nine to five on Saturdays.", False),
    ]
    user, reply = turns(call)[1:]
    assert user.end_of_turn_delay_ms is not None and user.end_of_turn_delay_ms > 0
    assert reply.llm_ttft_ms is not None and reply.tts_ttfb_ms is not None and reply.e2e_latency_ms is not None
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert Call.objects.get(pk=call.pk).answered_at is not None


LONG_ANSWER = (
    "Our opening hours are nine to five on weekdays, ten to four on Saturdays, "
    "and we are closed on Sundays and on public holidays."
)  # 24 words: 7.2 s of speech


def segment(audio, index):
    segments = audio.output.segments
    return segments[index] if len(segments) > index else None


async def heard(audio, index, *, timeout=20.0):
    """The agent's `index`-th utterance, once it has finished playing (or was cut off)."""
    await until(lambda: segment(audio, index) is not None and segment(audio, index).ended_at, timeout=timeout)
    return segment(audio, index)


async def started(audio, index, *, timeout=20.0):
    await until(lambda: segment(audio, index) is not None, timeout=timeout)
    return segment(audio, index)


# LiveKit ignores the caller for the first 3 s the agent speaks in a session (its echo
# cancellation warm-up); barge-in tests talk over the agent after that.
AFTER_WARMUP = 3.3


def barge_in_scenario(result, *, interruption="Sorry, I meant the Berlin shop.", after=AFTER_WARMUP):
    async def scenario(runner, audio):
        await audio.input.speak("What are your hours?")
        answer = await started(audio, 0)
        await asyncio.sleep(after)
        done = audio.input.say(utterance(interruption))
        result["barge_at"] = audio.input.spoke_at[-1][0]
        await done
        await until(lambda: answer.ended_at, timeout=15)
        result["answer"] = answer
        await asyncio.sleep(1.0)
        await runner.flush()

    return scenario


def test_talking_over_the_agent_stops_it_within_the_threshold_and_the_turn_is_stored_as_interrupted(
    make_call, stand_ins
):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?", "Sorry, I meant the Berlin shop."]
    openai.replies = [Reply(text=LONG_ANSWER), Reply(text="The Berlin shop opens at eight.")]
    call = make_call(**voice_agent_fields(first_message="", interruption_min_duration=0.5))
    result = {}

    run_audio_call(call, barge_in_scenario(result))

    answer = result["answer"]
    assert answer.interrupted and answer.played < answer.pushed - 2
    # The caller stopped hearing it within the configured minimum speech (0.5 s) plus
    # detection slack (it pauses at once, and is cut off when the words confirm it).
    assert answer.stopped_at - result["barge_at"] < 0.5 + 0.8
    stored = [t for t in turns(call) if t.role == TurnRole.ASSISTANT]
    assert stored[0].interrupted is True
    assert stored[-1].content == "The Berlin shop opens at eight."


def test_with_interruptions_off_the_agent_finishes_what_it_says(make_call, stand_ins):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?", "Sorry, I meant the Berlin shop."]
    openai.replies = [Reply(text=LONG_ANSWER), Reply(text="The Berlin shop opens at eight.")]
    call = make_call(**voice_agent_fields(first_message="", allow_interruptions=False))
    result = {}

    run_audio_call(call, barge_in_scenario(result), timeout=40)

    assert not result["answer"].interrupted
    assert result["answer"].played == result["answer"].pushed
    assert not any(t.interrupted for t in turns(call))


def test_a_longer_minimum_interruption_lets_a_short_sound_pass(make_call, stand_ins):
    """About a second of wordless sound (no transcript) under a 2 s minimum: the agent
    does not stop while it lasts (a 0.5 s minimum would pause it half a second in)."""
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?", ""]
    openai.replies = [Reply(text=LONG_ANSWER), Reply(text="Anything else?")]
    call = make_call(**voice_agent_fields(first_message="", interruption_min_duration=2.0))
    result = {}

    sound = "Hmm, let me see."
    run_audio_call(call, barge_in_scenario(result, interruption=sound), timeout=40)

    answer = result["answer"]
    assert not answer.interrupted
    assert answer.stopped_at == 0 or answer.stopped_at - result["barge_at"] >= seconds(utterance(sound))


def test_a_minimum_word_count_keeps_a_backchannel_from_interrupting(make_call, stand_ins):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?", "Right, right."]
    openai.replies = [Reply(text=LONG_ANSWER), Reply(text="Anything else?")]
    call = make_call(
        **voice_agent_fields(
            first_message="", interruption_min_duration=0.3, voice_settings={"interruptionMinWords": 4}
        )
    )
    result = {}

    run_audio_call(call, barge_in_scenario(result, interruption="Right, right."), timeout=40)

    assert not result["answer"].interrupted


def call_with_a_wordless_interruption(make_call, stand_ins, *, resume: bool):
    """A call whose caller asks, then makes a sound without words (a cough, "Hmm.") over the
    long answer; the agent treats it as a false interruption after 0.5 s and resumes or not."""
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?", ""]
    openai.replies = [Reply(text=LONG_ANSWER)]
    return make_call(
        **voice_agent_fields(
            first_message="",
            interruption_min_duration=0.3,
            voice_settings={"falseInterruptionTimeout": 0.5, "resumeFalseInterruption": resume},
        )
    )


def test_a_false_interruption_pauses_the_agent_then_it_resumes(make_call, stand_ins):
    """A cough or a noise: speech without words. The agent pauses, hears nothing it can
    use within the timeout, and carries on where it stopped instead of starting over."""
    call = call_with_a_wordless_interruption(make_call, stand_ins, resume=True)
    result = {}
    events = []

    async def scenario(runner, audio):
        runner.session.on("agent_false_interruption", events.append)
        await barge_in_scenario(result, interruption="Hmm.")(runner, audio)

    run_audio_call(call, scenario, timeout=40)

    assert [e.resumed for e in events] == [True]
    answer = result["answer"]
    assert not answer.interrupted and answer.played == answer.pushed
    # It took longer than the speech itself: it was paused for a while.
    assert answer.ended_at - answer.started_at > answer.pushed + 0.3
    openai, _, _ = stand_ins
    assert len(openai.completions) == 1


def test_without_resume_a_false_interruption_cuts_the_agent_off(make_call, stand_ins):
    call = call_with_a_wordless_interruption(make_call, stand_ins, resume=False)
    result = {}

    run_audio_call(call, barge_in_scenario(result, interruption="Hmm."), timeout=40)

    assert result["answer"].interrupted


def second_call(make_call, first, **fields):
    """Another call in the job's room: the first one's room is renamed out of the way."""
    Call.objects.filter(pk=first.pk).update(room_name=f"done-{first.pk}")
    return make_call(**voice_agent_fields(first_message="", **fields))


def reply_delay(call, stand_ins, *, scenario_text="What are your hours?"):
    """Seconds from the end of the caller's speech to the first audio of the reply."""
    result = {}

    async def scenario(runner, audio):
        await audio.input.speak(scenario_text)
        result["spoke_until"] = audio.input.spoke_at[-1][1]
        answer = await started(audio, 0)
        result["delay"] = answer.started_at - result["spoke_until"]
        await heard(audio, 0)

    run_audio_call(call, scenario)
    return result["delay"]


def reply_delays_under(make_call, stand_ins, first: tuple[str, float], second: tuple[str, float]):
    """The same question asked on two calls in turn, whose agents' end-of-turn settings are
    `first` and `second` (turnDetection, endpointingMinDelay): (the first reply's delay, the
    second's, the second call)."""
    openai, deepgram, _ = stand_ins
    openai.default = Reply(text="Nine to five.")
    deepgram.script = ["What are your hours?", "What are your hours?"]
    settings = [{"turnDetection": detection, "endpointingMinDelay": delay} for detection, delay in (first, second)]
    one = make_call(**voice_agent_fields(first_message="", voice_settings=settings[0]))
    one_delay = reply_delay(one, stand_ins)
    two = second_call(make_call, one, voice_settings=settings[1])
    return one_delay, reply_delay(two, stand_ins), two


def test_endpointing_delays_change_when_the_reply_starts(make_call, stand_ins):
    quick_delay, patient_delay, patient = reply_delays_under(make_call, stand_ins, ("vad", 0.2), ("vad", 1.8))

    assert patient_delay - quick_delay > 1.0, (quick_delay, patient_delay)
    [turn] = [t for t in turns(patient) if t.role == TurnRole.USER]
    assert turn.end_of_turn_delay_ms >= 1800


def test_stt_turn_detection_waits_for_the_speech_to_text_endpoint(make_call, stand_ins):
    """Deepgram finalises the words at once but declares the end of speech 1.5 s later:
    `stt` turn detection waits for that endpoint, `vad` does not."""
    _, deepgram, _ = stand_ins
    deepgram.ENDPOINTING = 1.8
    vad_delay, stt_delay, _ = reply_delays_under(make_call, stand_ins, ("vad", 0.3), ("stt", 0.3))

    assert stt_delay - vad_delay > 1.0, (vad_delay, stt_delay)


@pytest.fixture
def backup_llm(settings):
    with OpenAIServer(api_key="sk-backup") as server:
        yield server


def test_a_stalled_language_model_switches_to_the_fallback_within_the_budget(make_call, stand_ins, backup_llm):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?"]
    openai.replies = [Reply(stall=True)]
    backup_llm.replies = [Reply(text="Nine to five, every weekday.")]
    backup_llm.api_key = openai.api_key  # the platform key; the row points at the backup server
    call = make_call(**voice_agent_fields(first_message=""))
    row = LLMProvider.objects.create(
        name="Backup", vendor="openai", default_model="backup-model", base_url=backup_llm.base_url
    )
    call.agent.voice_settings = {"providerTimeoutSeconds": 1.0, "fallbackProviders": {"llm": [row.pk]}}
    call.agent.save()

    delay = reply_delay(call, stand_ins)

    assert len(openai.completions) >= 1 and len(backup_llm.completions) == 1
    assert delay < 1.0 + 2.0, delay  # the budget, plus end of turn and speech
    rows = [(t.role, t.content) for t in turns(call)]
    assert (TurnRole.ASSISTANT, "Nine to five, every weekday.") in rows
    assert any(role == TurnRole.SYSTEM and "provider unavailable" in content for role, content in rows)


def test_when_every_language_model_fails_the_caller_hears_an_honest_line(make_call, stand_ins):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?"]
    openai.replies = [Reply(stall=True)]
    call = make_call(**voice_agent_fields(first_message="", voice_settings={"providerTimeoutSeconds": 1.0}))
    result = {}

    async def scenario(runner, audio):
        await audio.input.speak("What are your hours?")
        spoke_until = audio.input.spoke_at[-1][1]
        line = await heard(audio, 0)
        result["silence"] = line.started_at - spoke_until
        await runner.flush()

    run_audio_call(call, scenario)

    assert result["silence"] < 1.0 + 2.5, result
    assert (TurnRole.ASSISTANT, DEFAULT_RECOVERY_MESSAGE) in [(t.role, t.content) for t in turns(call)]
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED  # the call went on


def test_silence_is_reprompted_and_the_call_goes_on_when_the_caller_answers(make_call, stand_ins):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["Yes, I'm here."]
    openai.replies = [Reply(text="Great, how can I help?")]
    call = make_call(**voice_agent_fields(first_message="Hello, Acme here.", silence_timeout_seconds=1))

    async def scenario(runner, audio):
        await heard(audio, 0)
        await heard(audio, 1, timeout=10)  # "are you still there?"
        await audio.input.speak("Yes, I'm here.")
        await heard(audio, 2)
        await runner.flush()

    run_audio_call(call, scenario)

    said = [t.content for t in turns(call) if t.role == TurnRole.ASSISTANT]
    assert said == ["Hello, Acme here.", DEFAULT_REPROMPT_MESSAGE, "Great, how can I help?"]
    call.refresh_from_db()
    assert call.end_reason == EndReason.CALLER_HUNG_UP  # not silence


def test_the_call_is_answered_and_greets_only_once_the_caller_is_there(make_call, stand_ins):
    call = make_call(**voice_agent_fields(first_message="Hello, Acme here.", max_duration_seconds=4))
    seen = {}

    class LateCaller(RoomlessAudio):
        async def wait_for_caller(self):
            await asyncio.sleep(1.5)  # the agent is in the room; the caller is still on the way
            seen["before"] = await Call.objects.aget(pk=call.pk)
            seen["segments_before"] = len(self.output.segments)
            self.join()

    async def scenario(runner, line):
        await heard(line, 0)
        seen["greeted_at"] = line.output.segments[0].started_at
        await runner.wait_closed()

    audio = LateCaller(joined=False)
    started_at = time.monotonic()
    run_audio_call(call, scenario, audio=audio)

    assert seen["before"].status == CallStatus.RINGING and seen["before"].answered_at is None
    assert seen["segments_before"] == 0
    assert seen["greeted_at"] >= audio.joined_at
    call.refresh_from_db()
    assert call.end_reason == EndReason.MAX_DURATION
    # The maximum duration counts from the caller joining, not from the agent starting.
    assert call.ended_at - call.answered_at >= datetime.timedelta(seconds=4)
    assert time.monotonic() - started_at >= 1.5 + 4


def test_a_caller_who_never_joins_is_no_answer(make_call, stand_ins, monkeypatch):
    monkeypatch.setattr(call_runner, "CALLER_JOIN_TIMEOUT_SECONDS", 1.0)
    call = make_call(**voice_agent_fields())

    run_audio_call(call, lambda runner, audio: runner.wait_closed(), audio=RoomlessAudio(joined=False))

    call.refresh_from_db()
    assert (call.end_reason, call.answered_at) == (EndReason.NO_ANSWER, None)


def test_max_duration_interrupts_the_agent_mid_sentence(make_call, stand_ins):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?"]
    openai.replies = [Reply(text=LONG_ANSWER)]
    call = make_call(**voice_agent_fields(first_message="", max_duration_seconds=5))
    result = {}

    async def scenario(runner, audio):
        await audio.input.speak("What are your hours?")
        result["answer"] = await heard(audio, 0, timeout=20)
        await heard(audio, 1, timeout=10)
        await runner.wait_closed()

    run_audio_call(call, scenario)

    assert result["answer"].interrupted
    call.refresh_from_db()
    assert call.end_reason == EndReason.MAX_DURATION


LONG_GREETING = (
    "Hello and welcome to Acme, the home of fine anvils, rockets and portable holes. "
    "This call may be recorded. How can I help you today?"
)


@pytest.mark.parametrize("interruptible", [False, True], ids=["uninterruptible-heard-in-full", "interruptible-stops"])
def test_a_greeting_stops_when_the_caller_talks_only_if_interruptible(make_call, stand_ins, interruptible):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["Hello? Hello?"]
    openai.replies = [Reply(text="Sorry, go ahead.")]
    call = make_call(**voice_agent_fields(first_message=LONG_GREETING, allow_interruptions=interruptible))
    result = {}

    async def scenario(runner, audio):
        await started(audio, 0)
        await asyncio.sleep(AFTER_WARMUP)
        await audio.input.speak("Hello? Hello?")
        result["greeting"] = await heard(audio, 0)

    run_audio_call(call, scenario)

    assert result["greeting"].interrupted is interruptible


def test_the_transfer_waits_until_the_caller_heard_the_announcement(make_call, stand_ins, livekit_server):
    openai, deepgram, _ = stand_ins
    deepgram.script = ["Sales please."]
    openai.replies = [
        Reply(text="Let me transfer you to our sales team now.", tool_call=("transfer_call", {"destination": "Sales"}))
    ]
    call = make_call(
        **voice_agent_fields(first_message="", transfers=[{"name": "Sales", "destination": "+14155550123"}])
    )
    result = {}

    async def scenario(runner, audio):
        await audio.input.speak("Sales please.")
        announcement = await started(audio, 0)
        await until(lambda: livekit_server.messages("TransferSIPParticipant"), timeout=20)
        result["transfer_at"] = time.monotonic()
        result["announcement"] = announcement
        await runner.wait_closed()

    livekit_server.add_participant(call.room_name, "sip_+14155550199", kind=ParticipantInfo.Kind.SIP)
    run_audio_call(call, scenario, caller_identity="sip_+14155550199")

    announcement = result["announcement"]
    assert announcement.ended_at and not announcement.interrupted
    assert result["transfer_at"] >= announcement.ended_at - 0.05
    call.refresh_from_db()
    assert call.end_reason == EndReason.TRANSFERRED


def thinking_scenario(result):
    async def scenario(runner, audio):
        await audio.input.speak("What are your hours?")
        result["spoke_until"] = time.monotonic()
        answer = await heard(audio, 0)
        result["answer_started"] = answer.started_at
        await asyncio.sleep(0.5)
        result["player"] = runner.background_audio

    return scenario


@pytest.mark.parametrize("sound", ["keyboard-typing", None], ids=["on", "off"])
def test_the_thinking_sound_plays_while_the_model_thinks(make_call, stand_ins, sound):
    from livekit.agents import BuiltinAudioClip

    openai, deepgram, _ = stand_ins
    deepgram.script = ["What are your hours?"]
    openai.replies = [Reply(text="Nine to five.", delay=2.0)]  # the model takes 2 s to answer
    call = make_call(**voice_agent_fields(first_message="", voice_settings={"thinkingSound": sound}))
    result = {}
    audio = RoomlessAudio()

    run_audio_call(call, thinking_scenario(result), audio=audio)

    track = audio.background
    thinking = track.audible_seconds(result["spoke_until"], result["answer_started"])
    if sound is None:
        assert result["player"] is None and track.audible_seconds() == 0
        return
    # LiveKit's player with the library's own clip, started on the session's "thinking" state.
    assert result["player"]._thinking_sound == BuiltinAudioClip.KEYBOARD_TYPING
    assert thinking > 1.0, track.frames
    # It stops when the agent starts to speak (nothing more than the mixer's last block).
    assert track.audible_seconds(result["answer_started"] + 0.3) == 0
    # Nothing before the caller spoke: the agent was listening, not thinking.
    assert track.audible_seconds(0, result["spoke_until"] - 1.0) == 0
