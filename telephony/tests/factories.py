import factory

from telephony.models import PhoneNumber
from tenants.tests.factories import CustomerFactory


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    customer = factory.SubFactory(CustomerFactory)
    phone_number = factory.Sequence(lambda n: f"+1415555{n:04d}")
    friendly_name = factory.Sequence(lambda n: f"Line {n}")
    country = "US"
