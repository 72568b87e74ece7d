"""OpenAPI examples for /phone-numbers: the spec's bodies (`data`; the envelope around
them is added by morpheus.api.schema)."""

from drf_spectacular.utils import OpenApiExample

from agents.examples import CUSTOMER_ID

NUMBER = {
    "id": 2,
    "phoneNumber": "+15559998888",
    "friendlyName": "Support Line",
    "country": "US",
    "capabilities": ["voice"],
    "carrier": "twilio",
    "agentId": None,
    "agentName": None,
    "customerId": CUSTOMER_ID,
    "createdAt": "2026-02-05T22:15:00.000Z",
    "updatedAt": "2026-02-05T22:15:00.000Z",
}

PHONE_NUMBER_LIST = OpenApiExample(
    "Phone numbers",
    response_only=True,
    value={
        "phoneNumbers": [
            NUMBER
            | {
                "id": 1,
                "phoneNumber": "+15550001234",
                "friendlyName": "Main Line",
                "createdAt": "2026-02-05T10:00:00.000Z",
                "updatedAt": "2026-02-05T10:00:00.000Z",
            }
        ],
        "pagination": {"page": 1, "limit": 10, "total": 1, "totalPages": 1},
    },
    status_codes=["200"],
)

PHONE_NUMBER_CREATE_REQUEST = OpenApiExample(
    "The spec's example",
    request_only=True,
    value={"phoneNumber": "+15559998888", "friendlyName": "Support Line", "country": "US"},
)

PHONE_NUMBER_CREATE_WITH_AGENT_REQUEST = OpenApiExample(
    "Routed to an agent",
    request_only=True,
    value={
        "phoneNumber": "+14155550123",
        "friendlyName": "Sales",
        "country": "US",
        "capabilities": ["voice", "sms"],
        "carrier": "telnyx",
        "agentId": 1,
    },
)

PHONE_NUMBER_CREATE_RESPONSE = OpenApiExample(
    "Added",
    response_only=True,
    status_codes=["201"],
    value=NUMBER,
)

PHONE_NUMBER_RESPONSE = OpenApiExample(
    "Phone number",
    response_only=True,
    value=NUMBER,
    status_codes=["200"],
)

PHONE_NUMBER_ASSIGN_REQUEST = OpenApiExample("Assign an agent", request_only=True, value={"agentId": 1})
PHONE_NUMBER_UNASSIGN_REQUEST = OpenApiExample("Unassign", request_only=True, value={"agentId": None})
PHONE_NUMBER_RENAME_REQUEST = OpenApiExample("Rename", request_only=True, value={"friendlyName": "Support (EN)"})

PHONE_NUMBER_UPDATE_RESPONSE = OpenApiExample(
    "Updated",
    response_only=True,
    value=NUMBER | {"agentId": 1, "agentName": "Support Bot", "updatedAt": "2026-02-05T22:20:00.000Z"},
    status_codes=["200"],
)

PHONE_NUMBER_DELETE_RESPONSE = OpenApiExample(
    "Deleted",
    response_only=True,
    value={"id": 2},
    status_codes=["200"],
)
