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
