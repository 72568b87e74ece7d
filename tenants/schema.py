"""OpenAPI documentation of /customers, /users, /admin and provider credentials, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from morpheus.api.schema import error, request_example, resource_views, response_example

from . import services
from .role_docs import ROLE_ERRORS, ROLE_TABLE
from .serializers import (
    CustomerOutput,
    CustomerUpdateInput,
    InvitedUserOutput,
    InviteInput,
    OnboardInput,
    OnboardOutput,
    PlatformCustomerCapacityInput,
    PlatformCustomerDetailOutput,
    PlatformCustomerQuery,
    ProviderKeyInput,
    ProviderKeyListOutput,
    ProviderKeyOutput,
    RemovedOutput,
    RoleUpdateInput,
    RoleUpdateOutput,
    SystemHealthOutput,
    TeamUserQuery,
    VoiceOutput,
)

CUSTOMER_EXAMPLE = {
    "id": "880e8400-e29b-41d4-a716-446655440000",
    "companyName": "Tech Corp",
    "phone": "+1234567890",
    "description": "AI Lab",
    "status": "active",
    "avatar": None,
    "settings": {},
    "allowedIps": [],
    "createdBy": "550e8400-e29b-41d4-a716-446655440000",
    "createdAt": "2026-02-05T21:40:00.000Z",
    "updatedAt": "2026-02-05T21:40:00.000Z",
    "deletedAt": None,
}

onboard_post = extend_schema(
    tags=["customers"],
    summary="Create your company and become its owner",
    description=(
        "In one transaction: creates the customer, makes the caller its `owner` and clears "
        "`needsOnboarding`. `phone` is E.164 (spaces, dashes, dots and parentheses are removed "
        "first). A second onboarding, even two sent at the same moment, is refused with 409 "
        '"You have already completed onboarding for a customer"; platform admins get 403.'
    ),
    request=OnboardInput,
    responses={
        201: OnboardOutput,
        403: error(403, services.PLATFORM_ADMIN_ONBOARD_MESSAGE),
        409: error(409, services.ALREADY_ONBOARDED_MESSAGE),
    },
    examples=[
        request_example("Onboard", {"companyName": "Tech Corp", "phone": "+1234567890", "description": "AI Lab"}),
        response_example(
            "Onboarded",
            {
                "customer": CUSTOMER_EXAMPLE,
                "user": {
                    "id": "550e8400-e29b-41d4-a716-446655440000",
                    "customerId": "880e8400-e29b-41d4-a716-446655440000",
                    "role": "owner",
                },
            },
            201,
        ),
    ],
)

customer_me_get = extend_schema(
    tags=["customers"],
    summary="Your company",
    description="Any role of the customer. 403 until onboarding, when the customer is suspended, "
    "or when the caller's address is outside `allowedIps`.",
    responses={200: CustomerOutput},
    examples=[OpenApiExample("Customer", value=CUSTOMER_EXAMPLE, response_only=True)],
)

customer_me_patch = extend_schema(
    tags=["customers"],
    summary="Update your company",
    description=(
        "Owners and admins. Partial: only the fields sent change. `phone` E.164 or null; "
        "`settings` is merged (RFC 7396); `allowedIps` replaces the list of single IPs and CIDR "
        "ranges (IPv4 and IPv6) and is enforced on every tenant request from then on, using the "
        "same client address as `requestInfo.ip`. A list that would exclude the address you are "
        "calling from is refused (400 on `allowedIps`) unless `confirmLockout` is true."
    ),
    request=CustomerUpdateInput,
    responses={200: CustomerOutput},
    examples=[
        request_example("Rename", {"companyName": "Updated Corp"}),
        request_example("Restrict to the office", {"allowedIps": ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]}),
    ],
)


PLATFORM_ADMIN_ONLY = 'Platform admins only; anyone else gets 403 "You do not have permission to access this resource".'

platform_customer = resource_views("admin", globals(), "platform_customer_")

platform_customer_list = extend_schema(
    summary="Every tenant on the platform",
    description="All customers (soft-deleted ones excluded), newest first, optionally searched by company "
    "name and filtered by status. " + PLATFORM_ADMIN_ONLY,
    parameters=[PlatformCustomerQuery],
)

platform_customer_retrieve = extend_schema(
    summary="A tenant with its call capacity",
    description="The customer, its effective `concurrencyLimit` and `reservedInboundConcurrency` (its own "
    "or the platform defaults, see `capacityIsDefault`) and the calls holding a slot now. " + PLATFORM_ADMIN_ONLY,
    responses={200: PlatformCustomerDetailOutput},
)

platform_customer_partial_update = extend_schema(
    summary="Change a tenant's call capacity",
    description="`concurrencyLimit` (simultaneous calls) and `reservedInboundConcurrency` (slots only "
    "inbound calls may take): integers from 0, null = back to the platform default; the reserved slots "
    "may not exceed the limit (400, nothing changed). Calls already holding a slot keep it. "
    "Logged to the `morpheus.audit` logger. " + PLATFORM_ADMIN_ONLY,
    request=PlatformCustomerCapacityInput,
    responses={200: PlatformCustomerDetailOutput},
)

system_health_get = extend_schema(
    tags=["admin"],
    summary="Deep system health",
    description=(
        "Each dependency with its status (`up`, `down`, `not_configured`, `eager`) and latency: the "
        "database (SELECT 1, vendor, CONN_MAX_AGE, and on PostgreSQL the server's connection counts "
        "and pool statistics), Redis (PING), Celery (workers answering a broadcast ping through the "
        "broker; `eager` when tasks run inline) and LiveKit (RoomService.ListRooms). "
        '`status` is `healthy`; `degraded` (still 200, message "System health check passed with '
        'degraded components") when Celery workers or LiveKit are down; `unhealthy` (503, message '
        '"System health check failed", the report in `data`) when the database or a configured '
        "Redis is down. " + PLATFORM_ADMIN_ONLY
    ),
    responses={
        200: SystemHealthOutput,
        503: error(503, "System health check failed", description="The database or Redis is down"),
    },
)


provider_keys_get = extend_schema(
    tags=["customers"],
    summary="Your own provider keys",
    description="Owners and admins. The stored keys by vendor, with their last four characters only.",
    responses={200: ProviderKeyListOutput},
)

provider_key_put = extend_schema(
    tags=["customers"],
    summary="Store your own key for a provider",
    description=(
        "Owners and admins. `vendor` is `openai` (any OpenAI-compatible server with `baseUrl`), "
        "`deepgram` or `elevenlabs`. The key is checked first with a cheap real call through the "
        "vendor's SDK: 400 when the provider refuses it, 503 when it cannot be reached. Stored "
        "encrypted; your calls use it before the platform's key."
    ),
    request=ProviderKeyInput,
    responses={200: ProviderKeyOutput, 400: OpenApiResponse(description="The provider refused the key")},
)

provider_key_delete = extend_schema(
    tags=["customers"], summary="Remove your own key for a provider", responses={200: None}
)

eleven_labs_voices_get = extend_schema(
    tags=["agents"],
    summary="The ElevenLabs voices your key can use",
    description="Any role. With your own ElevenLabs key, else the platform's; cached for a few minutes.",
    responses={200: VoiceOutput(many=True)},
)


USER_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The user's UUID.")

team_user = extend_schema_view(
    list=extend_schema(
        summary="List your team",
        description="Every role may list the team. Removed users are not listed.\n\n" + ROLE_TABLE,
        parameters=[TeamUserQuery],
    ),
    retrieve=extend_schema(summary="One teammate", parameters=[USER_ID], description=ROLE_TABLE),
)

team_user_create = extend_schema(
    summary="Invite a teammate",
    description=(
        "Owners and admins. Creates an `invited` user in your customer and emails an invitation link "
        "(sent after the transaction commits). The user shows in the team list at once and can sign "
        "in once they accept. A user removed earlier can be invited again. An email already in use "
        'answers 409 "A user with this email already exists". Invitations are limited per customer '
        "(429 with Retry-After).\n\n" + ROLE_TABLE + ROLE_ERRORS
    ),
    request=InviteInput,
    responses={
        201: InvitedUserOutput,
        409: error(409, services.EMAIL_TAKEN_MESSAGE),
        429: OpenApiResponse(description="Too many invitations from this customer; see Retry-After"),
    },
    examples=[request_example("Invite", {"email": "colleague@tech.com", "role": "member", "name": "Bob"})],
)

team_user_partial_update = extend_schema(
    summary="Change a teammate's role",
    description="Owners and admins, under the rules below. Takes effect on the user's next request.\n\n"
    + ROLE_TABLE
    + ROLE_ERRORS,
    parameters=[USER_ID],
    request=RoleUpdateInput,
    responses={
        200: RoleUpdateOutput,
        409: error(409, services.LAST_OWNER_DEMOTE_MESSAGE),
    },
    examples=[request_example("Promote", {"role": "admin"})],
)

team_user_destroy = extend_schema(
    summary="Remove a teammate",
    description=(
        "Owners and admins. Soft delete: the user disappears from the team, every refresh token is "
        "revoked and their access token is refused on their next request.\n\n" + ROLE_TABLE + ROLE_ERRORS
    ),
    parameters=[USER_ID],
    request=None,
    responses={
        200: RemovedOutput,
        409: error(409, services.LAST_OWNER_REMOVE_MESSAGE),
    },
)
