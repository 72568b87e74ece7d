"""The cross-tenant matrix for /phone-numbers: another tenant's number is a 404 on
every route, exactly like a missing one, and nothing of it changes or leaks."""

import pytest

from agents.tests.factories import AgentFactory
from morpheus.testing import assert_error, assert_success
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/phone-numbers"


@pytest.fixture
def alices_number(customer_a, alice):
    return PhoneNumberFactory(customer=customer_a, agent=AgentFactory(customer=customer_a), friendly_name="Secret")


def routes(bobs_agent_id):
    return [
        ("get", None),
        ("patch", {"friendlyName": "Hijacked"}),
        ("patch", {"agentId": bobs_agent_id}),
        ("patch", {"agentId": None}),
        ("delete", None),
    ]


@pytest.mark.parametrize("route", range(5))
def test_another_tenants_number_is_a_404_like_a_missing_one(bob_client, customer_b, alices_number, route):
    method, body = routes(AgentFactory(customer=customer_b).id)[route]
    before = PhoneNumber.objects.filter(pk=alices_number.pk).values().get()
    for number_id in (alices_number.id, alices_number.id + 1000):
        call = getattr(bob_client, method)
        response = call(f"{URL}/{number_id}", body, format="json") if body is not None else call(f"{URL}/{number_id}")
        assert_error(response, 404, f"Phone number with ID {number_id} does not exist")
    assert PhoneNumber.objects.filter(pk=alices_number.pk).values().get() == before


def test_lists_never_leak(bob_client, customer_b, alices_number):
    bobs = PhoneNumberFactory(customer=customer_b)
    data = assert_success(bob_client.get(URL))
    assert [n["id"] for n in data["phoneNumbers"]] == [bobs.id]
    assert data["pagination"]["total"] == 1
    assert assert_success(bob_client.get(f"{URL}?search=Secret"))["phoneNumbers"] == []
    assert assert_success(bob_client.get(f"{URL}?agentId={alices_number.agent_id}"))["phoneNumbers"] == []


def test_a_number_is_always_added_to_the_callers_tenant(alice_client, customer_a, customer_b):
    body = {"phoneNumber": "+15559998888", "customerId": str(customer_b.id)}
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert data["customerId"] == str(customer_a.id)
    assert PhoneNumber.objects.get(pk=data["id"]).customer_id == customer_a.id
