import factory

from agents.catalogue import install_default_catalogue
from agents.models import Agent, AgentStatus, LLMProvider, STTProvider, TTSProvider
from tenants.tests.factories import CustomerFactory


def default_provider(model):
    """The first catalogue row; transactional tests flush the migration's rows, so
    put the default catalogue back when it is gone."""
    install_default_catalogue(LLMProvider, STTProvider, TTSProvider)
    return model.objects.order_by("id").first()


class AgentFactory(factory.django.DjangoModelFactory):
    """Uses the default catalogue rows (LLM/STT/TTS 1) the data migration installs."""

    class Meta:
        model = Agent
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    system_prompt = "You are a helpful assistant."
    first_message = "Hello! How can I help you today?"
    voice_id = "alloy"
    status = AgentStatus.ACTIVE
    llm_provider = factory.LazyFunction(lambda: default_provider(LLMProvider))
    stt_provider = factory.LazyFunction(lambda: default_provider(STTProvider))
    tts_provider = factory.LazyFunction(lambda: default_provider(TTSProvider))

    @factory.post_generation
    def first_version(obj, create, extracted, **kwargs):
        """Agents made through the service have version 1; so do the factory's."""
        if create:
            from agents.services import agent_version_record

            agent_version_record(agent=obj)
