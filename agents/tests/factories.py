import factory

from agents.catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS
from agents.models import Agent, AgentStatus, LLMProvider, STTProvider, TTSProvider
from tenants.tests.factories import CustomerFactory

_CATALOGUE = {LLMProvider: LLM_PROVIDERS, STTProvider: STT_PROVIDERS, TTSProvider: TTS_PROVIDERS}


def default_provider(model):
    """The catalogue's first row of `model`. A transactional test (transaction=True) that ran
    before may have flushed the rows the data migration installed: they are put back."""
    provider = model.objects.order_by("id").first()
    if provider is None:
        for row in _CATALOGUE[model]:
            model.objects.create(**row)
        provider = model.objects.order_by("id").first()
    return provider


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
    llm_provider = factory.LazyFunction(lambda: default_provider(LLMProvider))
    stt_provider = factory.LazyFunction(lambda: default_provider(STTProvider))
    tts_provider = factory.LazyFunction(lambda: default_provider(TTSProvider))
