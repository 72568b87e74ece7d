"""OpenAPI examples for /phone-numbers: the spec's bodies (`data`; the envelope around
them is added by morpheus.api.schema)."""

from agents.examples import CUSTOMER_ID
from morpheus.api.schema import request_example, response_example

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

PHONE_NUMBER_LIST = response_example(
    "Phone numbers",
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
)

PHONE_NUMBER_CREATE_REQUEST = request_example(
    "The spec's example", {"phoneNumber": "+15559998888", "friendlyName": "Support Line", "country": "US"}
)

PHONE_NUMBER_CREATE_WITH_AGENT_REQUEST = request_example(
    "Routed to an agent",
    {
        "phoneNumber": "+14155550123",
        "friendlyName": "Sales",
        "country": "US",
        "capabilities": ["voice", "sms"],
        "carrier": "telnyx",
        "agentId": 1,
    },
)

PHONE_NUMBER_CREATE_RESPONSE = response_example("Added", NUMBER, 201)

PHONE_NUMBER_RESPONSE = response_example("Phone number", NUMBER)

PHONE_NUMBER_ASSIGN_REQUEST = request_example("Assign an agent", {"agentId": 1})
PHONE_NUMBER_UNASSIGN_REQUEST = request_example("Unassign", {"agentId": None})
PHONE_NUMBER_RENAME_REQUEST = request_example("Rename", {"friendlyName": "Support (EN)"})

PHONE_NUMBER_UPDATE_RESPONSE = response_example(
    "Updated", NUMBER | {"agentId": 1, "agentName": "Support Bot", "updatedAt": "2026-02-05T22:20:00.000Z"}
)

PHONE_NUMBER_DELETE_RESPONSE = response_example("Deleted", {"id": 2})
