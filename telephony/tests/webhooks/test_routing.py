"""route_inbound's prepared read answers as the ORM read it replaced, in one statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentStatus
from agents.tests.factories import AgentFactory
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory
from telephony.webhooks.routing import NotAnswering, UnknownNumber, route_inbound
from tenants.models import CustomerStatus
from tenants.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NUMBER = "+15551230001"


def _orm_route(number: str) -> PhoneNumber:
    return PhoneNumber.objects.select_related("agent", "customer").get(phone_number=number)


def _refusal(number: str) -> str:
    with pytest.raises(NotAnswering) as refused:
        route_inbound(number)
    return refused.value.reason


def test_a_routed_number_carries_its_customer_and_agent_in_one_statement():
    customer = CustomerFactory(settings={"timezone": "Europe/Paris"})
    agent = AgentFactory(customer=customer, max_duration_seconds=321)
    PhoneNumberFactory(customer=CustomerFactory(), phone_number="+15551230002", agent=None)  # another tenant's
    PhoneNumberFactory(customer=customer, phone_number=NUMBER, agent=agent)
    expected = _orm_route(NUMBER)

    with CaptureQueriesContext(connection) as captured:
        routed = route_inbound(NUMBER)
        # Everything the inbound call reads of them, without another statement.
        seen = (
            routed.pk,
            routed.customer_id,
            routed.agent_id,
            routed.customer.pk,
            routed.customer.status,
            routed.customer.settings,
            routed.customer.deleted_at,
            routed.agent.pk,
            routed.agent.customer_id,
            routed.agent.status,
            routed.agent.max_duration_seconds,
        )
    assert len(captured) == 1, [query["sql"] for query in captured]
    assert seen == (
        expected.pk,
        customer.pk,
        agent.pk,
        customer.pk,
        CustomerStatus.ACTIVE,
        {"timezone": "Europe/Paris"},
        None,
        agent.pk,
        customer.pk,
        AgentStatus.ACTIVE,
        321,
    )
    # A field the route does not read is loaded when used, never wrong.
    assert (routed.agent.name, routed.customer.company_name) == (agent.name, customer.company_name)


def test_each_refusal_is_the_one_the_orm_row_gives():
    customer = CustomerFactory()
    with pytest.raises(UnknownNumber):
        route_inbound(NUMBER)

    number = PhoneNumberFactory(customer=customer, phone_number=NUMBER, agent=None)
    assert _refusal(NUMBER) == "no_agent"

    number.agent = AgentFactory(customer=CustomerFactory())  # another tenant's agent
    number.save()
    assert _refusal(NUMBER) == "no_agent"

    number.agent = AgentFactory(customer=customer, status=AgentStatus.PAUSED)
    number.save()
    assert _refusal(NUMBER) == "agent_inactive"

    customer.status = CustomerStatus.SUSPENDED
    customer.save()
    assert _refusal(NUMBER) == "customer_suspended"

    customer.status, customer.deleted_at = CustomerStatus.ACTIVE, timezone.now()
    customer.save()
    assert _refusal(NUMBER) == "customer_suspended"
