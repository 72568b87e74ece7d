"""OpenAPI documentation of /phone-numbers and /sip-trunks, kept out of the views."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from morpheus.api.schema import error, resource_views

from . import examples, services, trunks
from .serializers import (
    PhoneNumberCreateInput,
    PhoneNumberDeleteOutput,
    PhoneNumberListQuery,
    PhoneNumberOutput,
    PhoneNumberPageOutput,
    PhoneNumberUpdateInput,
)
from .trunk_serializers import SipTrunkInput, SipTrunkOutput, SipTrunkPageOutput

phone_number_list = extend_schema(
    summary="List phone numbers",
    parameters=[PhoneNumberListQuery],
    responses=PhoneNumberPageOutput,
    examples=[examples.PHONE_NUMBER_LIST],
)

phone_number_create = extend_schema(
    summary="Add a phone number (BYO carrier)",
    description=(
        "Records a number you already route to the platform; nothing is bought from a carrier. "
        "A number already on the platform answers 409 'Phone number already exists', "
        "whoever owns it. Owners and admins only."
    ),
    request=PhoneNumberCreateInput,
    responses={201: PhoneNumberOutput, 409: error(409, services.DUPLICATE_MESSAGE)},
    examples=[
        examples.PHONE_NUMBER_CREATE_REQUEST,
        examples.PHONE_NUMBER_CREATE_WITH_AGENT_REQUEST,
        examples.PHONE_NUMBER_CREATE_RESPONSE,
    ],
)

phone_number_retrieve = extend_schema(
    summary="Get a phone number", responses=PhoneNumberOutput, examples=[examples.PHONE_NUMBER_RESPONSE]
)

phone_number_partial_update = extend_schema(
    summary="Update a phone number (partial)",
    description="Rename it, assign an agent of your organization (`agentId`) or unassign (`null`). "
    "The number itself cannot change. Owners and admins only.",
    request=PhoneNumberUpdateInput,
    responses=PhoneNumberOutput,
    examples=[
        examples.PHONE_NUMBER_ASSIGN_REQUEST,
        examples.PHONE_NUMBER_UNASSIGN_REQUEST,
        examples.PHONE_NUMBER_RENAME_REQUEST,
        examples.PHONE_NUMBER_UPDATE_RESPONSE,
    ],
)

phone_number_destroy = extend_schema(
    summary="Delete a phone number",
    description="Refused with 409 while a call on the number is ringing or active. Owners and admins only.",
    responses={
        200: PhoneNumberDeleteOutput,
        409: error(409, services.ON_CALL_MESSAGE, description="The number is on a ringing or active call"),
    },
    examples=[examples.PHONE_NUMBER_DELETE_RESPONSE],
)

phone_number = resource_views("phone-numbers", globals(), "phone_number_")


REFUSED = OpenApiResponse(description="Validation failed, or 'LiveKit refused the request: ...'. Nothing is created.")

VOICE_DOWN = OpenApiResponse(description="LiveKit is not configured or unreachable; nothing is changed.")

sip_trunk_list = extend_schema(summary="List outbound SIP trunks", responses=SipTrunkPageOutput)

sip_trunk_create = extend_schema(
    summary="Add an outbound SIP trunk",
    description="Creates the trunk in LiveKit (CreateSIPOutboundTrunk), then here. Calls from the phone "
    "numbers in `phoneNumberIds` dial out through it.",
    request=SipTrunkInput,
    responses={201: SipTrunkOutput, 400: REFUSED, 503: VOICE_DOWN},
)

sip_trunk_retrieve = extend_schema(summary="Get an outbound SIP trunk", responses=SipTrunkOutput)

sip_trunk_partial_update = extend_schema(
    summary="Update an outbound SIP trunk (partial)",
    request=SipTrunkInput,
    responses={200: SipTrunkOutput, 400: REFUSED, 503: VOICE_DOWN},
)

sip_trunk_destroy = extend_schema(
    summary="Delete an outbound SIP trunk",
    responses={
        200: OpenApiResponse(description="{id}"),
        409: error(409, trunks.CALLS_IN_PROGRESS_MESSAGE.format(id=1)),
    },
)

sip_trunk = resource_views("sip-trunks", globals(), "sip_trunk_")
