import factory

from agents.models import Agent, AgentStatus, LLMProvider, STTProvider, TTSProvider
from tenants.tests.factories import CustomerFactory


class AgentFactory(factory.django.DjangoModelFactory):
    """Uses the default catalogue rows (LLM/STT/TTS 1) the data migration installs."""

    class Meta:
        model = Agent

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    system_prompt = "You are a helpful assistant."
    first_message = "Hello! How can I help you today?"
    voice_id = "alloy"
    status = AgentStatus.ACTIVE
    llm_provider = factory.LazyFunction(lambda: LLMProvider.objects.order_by("id").first())
    stt_provider = factory.LazyFunction(lambda: STTProvider.objects.order_by("id").first())
    tts_provider = factory.LazyFunction(lambda: TTSProvider.objects.order_by("id").first())
