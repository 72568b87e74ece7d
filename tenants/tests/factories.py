import factory

from tenants.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    company_name = factory.Sequence(lambda n: f"Company {n}")
    phone = "+14155550100"
    description = ""
