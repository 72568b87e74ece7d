"""OpenAPI documentation of the /auth endpoints (drf-spectacular), kept out of the views.

Examples here are the `data` of each answer; morpheus.api.schema wraps them in the
envelope with the message the view declares.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from morpheus.api.schema import error, request_example, response_example

from .exceptions import (
    ACCOUNT_SUSPENDED_MESSAGE,
    EMAIL_TAKEN_MESSAGE,
    INVALID_CREDENTIALS_MESSAGE,
    INVITATION_PENDING_MESSAGE,
    REFRESH_EXPIRED_MESSAGE,
    REFRESH_INVALID_MESSAGE,
    REFRESH_REVOKED_MESSAGE,
)
from .serializers import (
    AuthOutput,
    EmailInput,
    InviteAcceptInput,
    LoginInput,
    PasswordChangeInput,
    PasswordResetInput,
    PasswordResetRequestedOutput,
    ProfileOutput,
    ProfileUpdateInput,
    RefreshInput,
    RegisterCompleteInput,
    RegistrationOutput,
    TokensOutput,
    VerificationSentOutput,
)

TAG = "auth"
PUBLIC = [{}]  # OpenAPI's "no credentials needed"

USER_ID = "550e8400-e29b-41d4-a716-446655440000"
CUSTOMER_ID = "880e8400-e29b-41d4-a716-446655440000"
TOKENS = {"accessToken": "eyJhbGciOiJIUzI1Ni...", "refreshToken": "kq3V9yY0cJb2m8lB4o1o7x0b8sZ2vF3hT5nW6eR1aQc"}
STAMP = "2026-02-05T21:30:00.000Z"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(description=description)


THROTTLED = _error("Too many requests (see Retry-After)")


def _mails_a_link(*, summary: str, description: str, answer, answer_key: str, expires_in: str, errors=None):
    """The operation of an endpoint that mails a link to the posted address (sign-up,
    password reset): public, throttled, and answering the address and how long the link
    lasts under `answer_key`; `errors` are the refusals it documents besides 429."""
    return extend_schema(
        tags=[TAG],
        summary=summary,
        description=description,
        auth=PUBLIC,
        request=EmailInput,
        responses={200: answer, **(errors or {}), 429: THROTTLED},
        examples=[
            request_example("Request", {"email": "user@example.com"}),
            response_example("Success", {answer_key: {"email": "user@example.com", "expiresIn": expires_in}}),
        ],
    )


# The same example user (Jane, owner of a customer) in every answer that shows her; each
# answer adds its own fields, in the order the serializer writes them.
EXAMPLE_USER = {
    "id": USER_ID,
    "email": "user@example.com",
    "name": "Jane User",
    "customerId": CUSTOMER_ID,
    "role": "owner",
    "status": "active",
    "provider": "local",
}

LOGIN_USER = {**EXAMPLE_USER, "emailVerified": True, "needsOnboarding": False, "createdAt": STAMP, "updatedAt": STAMP}

PROFILE = {
    **EXAMPLE_USER,
    "providerId": None,
    "emailVerified": True,
    "lastLoginAt": "2026-02-05T21:35:00.000Z",
    "needsOnboarding": False,
    "createdAt": STAMP,
    "updatedAt": STAMP,
    "deletedAt": None,
}

# Just registered: no customer yet, so a member who still has to onboard.
REGISTERED_USER = {
    **EXAMPLE_USER,
    "customerId": None,
    "role": "member",
    "providerId": None,
    "emailVerified": True,
    "lastLoginAt": None,
    "needsOnboarding": True,
    "tokens": TOKENS,
    "createdAt": STAMP,
    "updatedAt": STAMP,
    "deletedAt": None,
}

request_verification = _mails_a_link(
    summary="Start sign-up: mail a verification link",
    description=(
        "Checks the address is not registered, then mails `FRONTEND_URL/verify-email?token=...`. The token is "
        "signed, carries the email, and is valid 24 hours; nothing is stored until registration completes. "
        "Throttled per email and per IP."
    ),
    answer=VerificationSentOutput,
    answer_key="verification",
    expires_in="24 hours",
    errors={409: error(409, EMAIL_TAKEN_MESSAGE)},
)

register_complete = extend_schema(
    tags=[TAG],
    summary="Finish sign-up with the verification token",
    description=(
        "Creates an active, verified user (role `member`, no customer yet: `needsOnboarding` is true) and signs "
        "them in; the tokens are inside `data.user`. A token already used (the email is registered) or an "
        "address registered in parallel answers 409. Invalid or expired tokens answer 400."
    ),
    auth=PUBLIC,
    request=RegisterCompleteInput,
    responses={
        201: RegistrationOutput,
        400: _error("Validation failed (name, password), or an invalid or expired verification token"),
        409: error(409, EMAIL_TAKEN_MESSAGE),
    },
    examples=[
        request_example("Request", {"token": "eyJlbWFpbCI6...", "name": "Jane User", "password": "SecurePassword123!"}),
        response_example("Success", {"user": REGISTERED_USER}, 201),
    ],
)

login = extend_schema(
    tags=[TAG],
    summary="Log in with email and password",
    description=(
        "Unknown email and wrong password get the same 401. Invited users (who have not accepted yet) and "
        "suspended users get 403. Updates `lastLoginAt`. Throttled per IP and per email."
    ),
    auth=PUBLIC,
    request=LoginInput,
    responses={
        200: AuthOutput,
        401: error(401, INVALID_CREDENTIALS_MESSAGE),
        403: error(403, ACCOUNT_SUSPENDED_MESSAGE, INVITATION_PENDING_MESSAGE),
        429: THROTTLED,
    },
    examples=[
        request_example("Request", {"email": "user@example.com", "password": "SecurePassword123!"}),
        response_example("Success", {"auth": {"user": LOGIN_USER, "tokens": TOKENS}}),
    ],
)

refresh = extend_schema(
    tags=[TAG],
    summary="Trade a refresh token for a new token pair",
    description=(
        "Refresh tokens are single use: store the new one. Presenting one already used (or revoked by logout) "
        "revokes every token descended from the same login and answers 401; the user must log in again. "
        "Expired or unknown tokens answer 401 too."
    ),
    auth=PUBLIC,
    request=RefreshInput,
    responses={
        200: TokensOutput,
        401: error(401, REFRESH_INVALID_MESSAGE, REFRESH_EXPIRED_MESSAGE, REFRESH_REVOKED_MESSAGE),
    },
    examples=[
        request_example("Request", {"refreshToken": TOKENS["refreshToken"]}),
        response_example("Success", {"tokens": TOKENS}),
    ],
)

logout = extend_schema(
    tags=[TAG],
    summary="Log out this session",
    description=(
        "Revokes the presented refresh token and every token rotated from the same login. Needs no access "
        "token (it may have expired). Logging out twice is fine; an unknown token answers 401."
    ),
    auth=PUBLIC,
    request=RefreshInput,
    responses={
        200: OpenApiResponse(description="Logged out; `data` is null"),
        401: error(401, REFRESH_INVALID_MESSAGE),
    },
)

logout_all = extend_schema(
    tags=[TAG],
    summary="Log out every session of the current user",
    description="Revokes all the user's refresh tokens; access tokens already issued live out their 15 minutes.",
    request=None,
    responses={200: OpenApiResponse(description="All sessions revoked; `data` is null")},
)

profile = extend_schema(
    tags=[TAG],
    summary="The current user",
    responses={200: ProfileOutput},
    examples=[response_example("Success", PROFILE)],
)

profile_update = extend_schema(
    tags=[TAG],
    summary="Change the current user's name",
    description="Only `name` can change here; email, role and status are managed elsewhere.",
    request=ProfileUpdateInput,
    responses={200: ProfileOutput},
)

invite_accept = extend_schema(
    tags=[TAG],
    summary="Accept an invitation: set a password and log in",
    description=(
        "With the token of the invitation email (valid 7 days), the invited user chooses a password (and "
        "optionally corrects their name), becomes active with a verified email, and is logged in (same answer "
        "as login). A link that was used, or whose user was removed or invited again, answers 400."
    ),
    auth=PUBLIC,
    request=InviteAcceptInput,
    responses={200: AuthOutput, 400: _error("Validation failed, or an invalid, expired or used invitation token")},
    examples=[
        request_example("Request", {"token": "eyJ1aWQiOi...", "password": "SecurePassword123!", "name": "Bob Member"}),
        response_example("Success", {"auth": {"user": {**LOGIN_USER, "role": "member"}, "tokens": TOKENS}}),
    ],
)

password_forgot = _mails_a_link(
    summary="Mail a password-reset link",
    description=(
        "Always answers 200 with the same body, so it never reveals whether an account exists; the link "
        "(`FRONTEND_URL/reset-password?token=...`, valid 1 hour, single use) is mailed only to an active user. "
        "Throttled per email and per IP."
    ),
    answer=PasswordResetRequestedOutput,
    answer_key="passwordReset",
    expires_in="1 hour",
)

password_reset = extend_schema(
    tags=[TAG],
    summary="Set a new password with a reset token",
    description=(
        "Sets the password, marks the email verified, and logs the user out everywhere (every refresh token "
        "revoked; access tokens issued before stop working). The link works once."
    ),
    auth=PUBLIC,
    request=PasswordResetInput,
    responses={
        200: OpenApiResponse(description="Password reset; `data` is null. Log in with the new password."),
        400: _error("Validation failed (password), or an invalid, expired or used reset token"),
    },
    examples=[request_example("Request", {"token": "eyJ1aWQiOi...", "password": "NewSecurePassword456!"})],
)

password_change = extend_schema(
    tags=[TAG],
    summary="Change the current user's password",
    description=(
        "Needs the current password. Every other session is logged out; this one continues with the new token "
        "pair in the answer. Throttled like login."
    ),
    request=PasswordChangeInput,
    responses={200: TokensOutput, 429: THROTTLED},
    examples=[
        request_example("Request", {"currentPassword": "SecurePassword123!", "newPassword": "NewSecurePassword456!"}),
        response_example("Success", {"tokens": TOKENS}),
    ],
)
