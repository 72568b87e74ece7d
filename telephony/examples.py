"""OpenAPI examples for /phone-numbers: the spec's bodies in the full envelope."""

from drf_spectacular.utils import OpenApiExample

from agents.examples import CUSTOMER_ID
from morpheus.api.envelope import example_envelope as envelope

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
    value=envelope(
        {
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
        "Phone numbers retrieved successfully",
        "/api/v1/phone-numbers",
        "GET",
    ),
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
    value=envelope(NUMBER, "Phone number added successfully", "/api/v1/phone-numbers", "POST", 201),
)

PHONE_NUMBER_RESPONSE = OpenApiExample(
    "Phone number",
    response_only=True,
    value=envelope(NUMBER, "Phone number retrieved successfully", "/api/v1/phone-numbers/2", "GET"),
)

PHONE_NUMBER_ASSIGN_REQUEST = OpenApiExample("Assign an agent", request_only=True, value={"agentId": 1})
PHONE_NUMBER_UNASSIGN_REQUEST = OpenApiExample("Unassign", request_only=True, value={"agentId": None})
PHONE_NUMBER_RENAME_REQUEST = OpenApiExample("Rename", request_only=True, value={"friendlyName": "Support (EN)"})

PHONE_NUMBER_UPDATE_RESPONSE = OpenApiExample(
    "Updated",
    response_only=True,
    value=envelope(
        NUMBER | {"agentId": 1, "agentName": "Support Bot", "updatedAt": "2026-02-05T22:20:00.000Z"},
        "Phone number updated successfully",
        "/api/v1/phone-numbers/2",
        "PATCH",
    ),
)

PHONE_NUMBER_DELETE_RESPONSE = OpenApiExample(
    "Deleted",
    response_only=True,
    value=envelope({"id": 2}, "Phone number deleted successfully", "/api/v1/phone-numbers/2", "DELETE"),
)
