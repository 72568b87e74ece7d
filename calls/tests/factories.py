import factory
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.models import Call, CallDirection, CallStatus, TranscriptTurn, TurnRole


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    agent = factory.SubFactory(AgentFactory)
    customer = factory.LazyAttribute(lambda o: o.agent.customer)
    direction = CallDirection.INBOUND
    from_number = "+14155550199"
    to_number = "+14155550100"
    room_name = factory.Sequence(lambda n: f"call-test-{n}")
    status = CallStatus.ACTIVE
    started_at = factory.LazyFunction(timezone.now)


class TranscriptTurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TranscriptTurn

    call = factory.SubFactory(CallFactory)
    role = TurnRole.USER
    content = factory.Faker("sentence")


def measured_exchange(call: Call, question: str, answer: str, latency_ms: tuple[float, float, float, float]) -> None:
    """The caller's `question`, then the agent's `answer` with its latency measured:
    `latency_ms` is (end of turn, LLM time to first token, TTS time to first byte, end to end),
    the figures the admin's conversation view must show beside the turns."""
    end_of_turn, *reply = latency_ms
    TranscriptTurnFactory(call=call, role=TurnRole.USER, content=question, end_of_turn_delay_ms=end_of_turn)
    measured = dict(zip(("llm_ttft_ms", "tts_ttfb_ms", "e2e_latency_ms"), reply, strict=True))
    TranscriptTurnFactory(call=call, role=TurnRole.ASSISTANT, content=answer, **measured)
