import factory

from telephony.models import PhoneNumber
from tenants.tests.factories import CustomerFactory


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    customer = factory.SubFactory(CustomerFactory)
    # Not +1415555nnnn: tests write numbers such as +14155550100 by hand, and the sequence
    # reached them after 100 numbers (a UNIQUE failure that depended on test order).
    phone_number = factory.Sequence(lambda n: f"+1628555{n:04d}")
    friendly_name = factory.Sequence(lambda n: f"Line {n}")
    country = "US"
