import pytest

from agents.tests.factories import AgentFactory
from calls.models import CallStatus
from calls.tests.factories import CallFactory
from telephony.models import PhoneNumber
from telephony.tests.factories import PhoneNumberFactory
from testsupport.api import assert_delete_refused, assert_error, assert_only_row, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/phone-numbers"
FORBIDDEN = "You do not have permission to access this resource"
KEYS = {
    "id",
    "phoneNumber",
    "friendlyName",
    "country",
    "capabilities",
    "carrier",
    "agentId",
    "agentName",
    "customerId",
    "createdAt",
    "updatedAt",
}
# The spec's curl body, byte for byte.
SPEC_CREATE_BODY = """{
    "phoneNumber": "+15559998888",
    "friendlyName": "Support Line",
    "country": "US"
  }"""


def post_spec_body(client):
    return client.post(URL, data=SPEC_CREATE_BODY, content_type="application/json")


# --- The spec's examples, verbatim -------------------------------------------------------


def test_it_adds_the_spec_example_verbatim(alice_client, customer_a):
    data = assert_success(post_spec_body(alice_client), 201, "Phone number added successfully")
    assert set(data) == KEYS
    assert isinstance(data["id"], int)
    assert data["phoneNumber"] == "+15559998888"
    assert data["friendlyName"] == "Support Line"
    assert data["country"] == "US"
    assert data["createdAt"].endswith("Z")
    assert (data["capabilities"], data["carrier"], data["agentId"], data["agentName"]) == (
        ["voice"],
        "twilio",
        None,
        None,
    )
    assert data["customerId"] == str(customer_a.id)
    number = PhoneNumber.objects.get(pk=data["id"])
    assert (number.customer, number.phone_number, number.country) == (customer_a, "+15559998888", "US")


def test_it_lists_with_the_spec_query(alice_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a, phone_number="+15550001234", friendly_name="Main Line")
    listed = alice_client.get(f"{URL}?page=1&limit=10")
    item = assert_only_row(listed, "Phone numbers retrieved successfully", "phoneNumbers")
    assert set(item) == KEYS
    assert (item["id"], item["phoneNumber"], item["friendlyName"], item["country"], item["agentId"]) == (
        number.id,
        "+15550001234",
        "Main Line",
        "US",
        None,
    )


# --- Create ------------------------------------------------------------------------------


def test_it_normalises_the_number_and_infers_the_country(alice_client):
    data = assert_success(alice_client.post(URL, {"phoneNumber": " +44 20 7946 0958 "}, format="json"), 201)
    assert (data["phoneNumber"], data["country"], data["friendlyName"]) == ("+442079460958", "GB", "")


def test_it_accepts_a_fictional_nanp_number_for_any_nanp_country(alice_client):
    data = assert_success(alice_client.post(URL, {"phoneNumber": "+15559998888", "country": "ca"}, format="json"), 201)
    assert data["country"] == "CA"


def test_it_creates_a_number_routed_to_an_agent(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, name="Sales Bot")
    body = {
        "phoneNumber": "+14155550123",
        "capabilities": ["sms", "voice"],
        "carrier": "telnyx",
        "agentId": agent.id,
    }
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert (data["agentId"], data["agentName"], data["carrier"]) == (agent.id, "Sales Bot", "telnyx")
    assert data["capabilities"] == ["voice", "sms"]
    assert PhoneNumber.objects.get(pk=data["id"]).agent == agent


def test_a_duplicate_in_the_same_tenant_is_a_409(alice_client, customer_a):
    assert_success(post_spec_body(alice_client), 201)
    assert_error(post_spec_body(alice_client), 409, "Phone number already exists")
    assert PhoneNumber.objects.count() == 1


def test_a_duplicate_across_tenants_is_the_same_409_without_revealing_the_owner(
    alice_client, bob_client, customer_a, customer_b
):
    PhoneNumberFactory(customer=customer_a, phone_number="+15559998888", friendly_name="Alice secret line")
    body = assert_error(
        bob_client.post(URL, {"phoneNumber": "+1 555 999 8888"}, format="json"), 409, "Phone number already exists"
    )
    assert "Alice" not in str(body)
    same_tenant = assert_error(
        alice_client.post(URL, {"phoneNumber": "+15559998888"}, format="json"), 409, "Phone number already exists"
    )
    assert {k: v for k, v in body.items() if k != "requestInfo"} == {
        k: v for k, v in same_tenant.items() if k != "requestInfo"
    }
    assert not PhoneNumber.objects.filter(customer=customer_b).exists()


BAD_NUMBERS = [
    ({"phoneNumber": "5559998888"}, ["phoneNumber"]),
    ({"phoneNumber": "15559998888"}, ["phoneNumber"]),
    ({"phoneNumber": "+1555"}, ["phoneNumber"]),
    ({"phoneNumber": "+155599988881234"}, ["phoneNumber"]),
    ({"phoneNumber": "+1-800-FLOWERS"}, ["phoneNumber"]),
    ({"phoneNumber": "+0155599988"}, ["phoneNumber"]),
    ({"phoneNumber": ""}, ["phoneNumber"]),
    ({"phoneNumber": None}, ["phoneNumber"]),
    ({"phoneNumber": 15559998888}, ["phoneNumber"]),
    ({}, ["phoneNumber"]),
    ({"phoneNumber": "+14155550123", "country": "GB"}, ["country"]),
    ({"phoneNumber": "+14155550123", "country": "CA"}, ["country"]),  # a San Francisco number
    ({"phoneNumber": "+15559998888", "country": "XX"}, ["country"]),
    ({"phoneNumber": "+15559998888", "country": "USA"}, ["country"]),
    ({"phoneNumber": "+15559998888", "capabilities": ["fax"]}, ["capabilities"]),
    ({"phoneNumber": "+15559998888", "capabilities": []}, ["capabilities"]),
    ({"phoneNumber": "+15559998888", "capabilities": "voice"}, ["capabilities"]),
    ({"phoneNumber": "+15559998888", "carrier": "vonage"}, ["carrier"]),
    ({"phoneNumber": "+15559998888", "friendlyName": "n" * 121}, ["friendlyName"]),
    ({"phoneNumber": "+15559998888", "agentId": "abc"}, ["agentId"]),
    ({"phoneNumber": "+15559998888", "agentId": 999999}, ["agentId"]),
    ({"phoneNumber": "nope", "country": "XX", "capabilities": ["fax"]}, ["phoneNumber", "country", "capabilities"]),
]


@pytest.mark.parametrize(("body", "fields"), BAD_NUMBERS)
def test_create_refuses_bad_input_and_writes_nothing(alice_client, body, fields):
    assert_error(alice_client.post(URL, body, format="json"), 400, "Validation failed", fields=fields)
    assert not PhoneNumber.objects.exists()


def test_error_messages_explain_the_format(alice_client):
    body = assert_error(alice_client.post(URL, {"phoneNumber": "555-999-8888"}, format="json"), 400)
    assert body["errors"] == [
        {"field": "phoneNumber", "message": "Enter the number in E.164 format, e.g. +14155550100"}
    ]
    body = assert_error(alice_client.post(URL, {"phoneNumber": "+14155550123", "country": "GB"}, format="json"), 400)
    assert body["errors"][0]["message"] == "+14155550123 is a US number, not GB"


def test_another_tenants_agent_cannot_be_assigned_on_create(alice_client, customer_b):
    theirs = AgentFactory(customer=customer_b)
    body = assert_error(
        alice_client.post(URL, {"phoneNumber": "+15559998888", "agentId": theirs.id}, format="json"),
        400,
        fields=["agentId"],
    )
    assert body["errors"][0]["message"] == f"Agent with ID {theirs.id} does not exist"
    assert not PhoneNumber.objects.exists()


# --- Update ------------------------------------------------------------------------------


def test_it_assigns_renames_and_unassigns(alice_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a)
    agent = AgentFactory(customer=customer_a, name="Support Bot")
    data = assert_success(
        alice_client.patch(f"{URL}/{number.id}", {"agentId": agent.id}, format="json"),
        200,
        "Phone number updated successfully",
    )
    assert (data["agentId"], data["agentName"]) == (agent.id, "Support Bot")
    assert data["updatedAt"] > data["createdAt"]
    data = assert_success(alice_client.patch(f"{URL}/{number.id}", {"friendlyName": "Renamed"}, format="json"))
    assert (data["friendlyName"], data["agentId"]) == ("Renamed", agent.id)
    data = assert_success(alice_client.patch(f"{URL}/{number.id}", {"agentId": None}, format="json"))
    assert (data["agentId"], data["agentName"]) == (None, None)
    number.refresh_from_db()
    assert (number.friendly_name, number.agent_id) == ("Renamed", None)


def test_another_tenants_agent_cannot_be_assigned(alice_client, customer_a, customer_b):
    mine = AgentFactory(customer=customer_a)
    number = PhoneNumberFactory(customer=customer_a, agent=mine)
    theirs = AgentFactory(customer=customer_b)
    body = assert_error(
        alice_client.patch(f"{URL}/{number.id}", {"agentId": theirs.id, "friendlyName": "x"}, format="json"),
        400,
        fields=["agentId"],
    )
    assert body["errors"][0]["message"] == f"Agent with ID {theirs.id} does not exist"
    number.refresh_from_db()
    assert number.agent_id == mine.id and number.friendly_name != "x"


def test_the_number_itself_cannot_change(alice_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a, phone_number="+14155550100")
    assert_error(
        alice_client.patch(f"{URL}/{number.id}", {"phoneNumber": "+14155550199"}, format="json"),
        400,
        fields=["phoneNumber"],
    )
    # Sending it back unchanged (a client echoing the object) is fine.
    assert_success(alice_client.patch(f"{URL}/{number.id}", {"phoneNumber": "+1 415 555 0100"}, format="json"))
    number.refresh_from_db()
    assert number.phone_number == "+14155550100"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"country": "GB"}, ["country"]),
        ({"capabilities": ["voice", "mms"]}, ["capabilities"]),
        ({"carrier": "bandwidth"}, ["carrier"]),
        ({"friendlyName": "n" * 121}, ["friendlyName"]),
        ({"agentId": 999999}, ["agentId"]),
        ({"agentId": True}, ["agentId"]),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(alice_client, customer_a, body, fields):
    number = PhoneNumberFactory(customer=customer_a)
    before = PhoneNumber.objects.filter(pk=number.pk).values().get()
    assert_error(alice_client.patch(f"{URL}/{number.id}", body, format="json"), 400, "Validation failed", fields=fields)
    assert PhoneNumber.objects.filter(pk=number.pk).values().get() == before


def test_the_country_may_be_corrected_within_the_calling_code(alice_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a, phone_number="+15559998888", country="US")
    data = assert_success(alice_client.patch(f"{URL}/{number.id}", {"country": "CA"}, format="json"))
    assert data["country"] == "CA"


# --- Retrieve and delete -----------------------------------------------------------------


def test_it_retrieves_a_number(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a, name="Router")
    number = PhoneNumberFactory(customer=customer_a, agent=agent)
    data = assert_success(alice_client.get(f"{URL}/{number.id}"), 200, "Phone number retrieved successfully")
    assert (data["id"], data["phoneNumber"], data["agentId"], data["agentName"]) == (
        number.id,
        number.phone_number,
        agent.id,
        "Router",
    )


def test_a_missing_number_is_a_404(alice_client):
    assert_error(alice_client.get(f"{URL}/9"), 404, "Phone number with ID 9 does not exist")
    assert_error(
        alice_client.patch(f"{URL}/9", {"friendlyName": "x"}, format="json"),
        404,
        "Phone number with ID 9 does not exist",
    )
    assert_error(alice_client.delete(f"{URL}/9"), 404, "Phone number with ID 9 does not exist")


def test_it_deletes_a_number_and_keeps_call_history(alice_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a)
    call = CallFactory(agent=AgentFactory(customer=customer_a), phone_number=number, status=CallStatus.COMPLETED)
    data = assert_success(alice_client.delete(f"{URL}/{number.id}"), 200, "Phone number deleted successfully")
    assert data == {"id": number.id}
    assert not PhoneNumber.objects.filter(pk=number.id).exists()
    call.refresh_from_db()
    assert call.phone_number_id is None


@pytest.mark.parametrize("status", [CallStatus.RINGING, CallStatus.ACTIVE])
def test_a_number_on_an_open_call_cannot_be_deleted(alice_client, customer_a, status):
    number = PhoneNumberFactory(customer=customer_a)
    CallFactory(agent=AgentFactory(customer=customer_a), phone_number=number, status=status)
    on_call = "Phone number is on an active call; end the call before deleting the number"
    assert_delete_refused(alice_client, f"{URL}/{number.id}", number, 409, on_call)


# --- List --------------------------------------------------------------------------------


def test_it_filters_by_agent_and_searches(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    routed = PhoneNumberFactory(customer=customer_a, agent=agent, friendly_name="Sales desk")
    other = PhoneNumberFactory(customer=customer_a, phone_number="+442079460958", friendly_name="London")

    def ids(query):
        return [n["id"] for n in assert_success(alice_client.get(f"{URL}?{query}"))["phoneNumbers"]]

    assert ids(f"agentId={agent.id}") == [routed.id]
    assert ids("search=sales") == [routed.id]
    assert ids("search=4420") == [other.id]
    assert ids("agentId=999999") == []


@pytest.mark.parametrize("query", ["agentId=abc", "agentId=0", "search=" + "x" * 101])
def test_it_rejects_bad_list_filters(alice_client, query):
    field = query.split("=")[0]
    assert_error(alice_client.get(f"{URL}?{query}"), 400, "Validation failed", fields=[field])


# --- Roles -------------------------------------------------------------------------------


def test_it_requires_authentication_and_onboarding(api_client, platform_admin_client):
    assert_error(api_client.get(URL), 401)
    assert_error(platform_admin_client.get(URL), 403, "Please complete onboarding to access this resource")
