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
