import factory

from integrations import signing
from integrations.models import WebhookEndpoint
from tenants.tests.factories import CustomerFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    customer = factory.SubFactory(CustomerFactory)
    url = "https://hooks.example.com/morpheus"
    events = factory.LazyFunction(lambda: ["call.started", "call.ended"])
    secret = factory.LazyFunction(signing.new_secret)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.Event"

    customer = factory.SubFactory(CustomerFactory)
    type = "call.ended"
    data = factory.LazyFunction(lambda: {"id": 1})


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    customer = factory.LazyAttribute(lambda o: o.endpoint.customer)
    event = factory.SubFactory(EventFactory, customer=factory.SelfAttribute("..customer"))
    status = "failed"
    attempts = 3
    response_status = 500
    last_error = "HTTP 500"


def make_api_key(customer, created_by, *, scopes=("write",), agent_ids=None, **extra):
    """An API key row and its full key, through the service (as the API creates them)."""
    from integrations import services

    api_key, plaintext = services.api_key_create(
        customer=customer, actor=created_by, name="Test key", scopes=list(scopes), agent_ids=agent_ids, **extra
    )
    return api_key, plaintext
