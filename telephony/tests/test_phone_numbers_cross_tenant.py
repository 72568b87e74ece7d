"""The cross-tenant matrix for /phone-numbers: another tenant's number is a 404 on
every route, exactly like a missing one, and nothing of it changes or leaks."""

import pytest

from agents.tests.factories import AgentFactory
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory
from tenants.tests.cross_tenant import MANAGERS, Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/phone-numbers"


@pytest.fixture
def alices_number(customer_a, alice):
    return PhoneNumberFactory(customer=customer_a, agent=AgentFactory(customer=customer_a), friendly_name="Secret")


class TestPhoneNumbersMatrix(ResourceMatrix):
    list_url = URL
    list_key = "phoneNumbers"
    not_found_label = "Phone number"
    actions = {
        "list": Action("get", on="list", message="Phone numbers retrieved successfully"),
        "create": Action(
            "post",
            on="list",
            payload={"phoneNumber": "+15559998888"},
            status=201,
            message="Phone number added successfully",
        ),
        "retrieve": Action("get", message="Phone number retrieved successfully"),
        "update": Action(
            "patch", payload={"friendlyName": "Hijacked", "agentId": None}, message="Phone number updated successfully"
        ),
        "delete": Action("delete", message="Phone number deleted successfully"),
    }
    # Members read the inventory; managers change it.
    roles = {"create": MANAGERS, "update": MANAGERS, "delete": MANAGERS}

    def make_object(self, customer):
        return PhoneNumberFactory(customer=customer, agent=AgentFactory(customer=customer))

    def make_row(self, customer, index):
        # Some numbers share an agent, some have none: the list joins the agent's name.
        if not hasattr(self, "_agents"):
            self._agents = AgentFactory.create_batch(3, customer=customer)
        return PhoneNumberFactory(customer=customer, agent=self._agents[index % 3] if index % 4 else None)

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "update":
            assert (data["friendlyName"], data["agentId"]) == ("Hijacked", None)


def test_assigning_an_agent_to_another_tenants_number_is_a_404(bob_client, customer_b, alices_number):
    before = PhoneNumber.objects.filter(pk=alices_number.pk).values().get()
    response = bob_client.patch(
        f"{URL}/{alices_number.id}", {"agentId": AgentFactory(customer=customer_b).id}, format="json"
    )
    assert_error(response, 404, f"Phone number with ID {alices_number.id} does not exist")
    assert PhoneNumber.objects.filter(pk=alices_number.pk).values().get() == before


def test_filters_never_find_another_tenants_numbers(bob_client, alices_number):
    assert assert_success(bob_client.get(f"{URL}?search=Secret"))["phoneNumbers"] == []
    assert assert_success(bob_client.get(f"{URL}?agentId={alices_number.agent_id}"))["phoneNumbers"] == []


def test_a_number_is_always_added_to_the_callers_tenant(alice_client, customer_a, customer_b):
    body = {"phoneNumber": "+15559998888", "customerId": str(customer_b.id)}
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert data["customerId"] == str(customer_a.id)
    assert PhoneNumber.objects.get(pk=data["id"]).customer_id == customer_a.id
