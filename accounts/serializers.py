"""Shapes in and out of the auth endpoints (camelCase, as the spec shows).

Input serializers only check types and sizes; rules (password strength, token
validity, uniqueness) live in services. Unknown fields are ignored; a value of the
wrong JSON type is refused, never coerced (a number is not a password).
No output serializer has a password field.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Role, User, UserStatus
from .normalization import normalize_email

PASSWORD_MAX_LENGTH = 128  # hashing megabyte-long "passwords" would be a cheap DoS
TOKEN_MAX_LENGTH = 1024
NOT_A_STRING_MESSAGE = "Not a valid string."
INVALID_EMAIL_MESSAGE = "Invalid email format"


class _StrictString:
    """Refuses non-strings instead of DRF's coercion of numbers to strings."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StringField(_StrictString, serializers.CharField):
    default_error_messages = {"not_a_string": NOT_A_STRING_MESSAGE}


class EmailField(_StrictString, serializers.EmailField):
    """An email in its one normalised spelling (accounts.normalization), validated after
    folding: `ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ` is alice@example.com."""

    default_error_messages = {"not_a_string": NOT_A_STRING_MESSAGE, "invalid": INVALID_EMAIL_MESSAGE}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = normalize_email(data)
        return super().to_internal_value(data)


def password_field(**kwargs) -> StringField:
    # Never trimmed: leading and trailing spaces are part of a password.
    return StringField(
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        write_only=True,
        **kwargs,
    )


def token_field(help_text: str) -> StringField:
    return StringField(max_length=TOKEN_MAX_LENGTH, help_text=help_text)


# --- Input ------------------------------------------------------------------------


class EmailInput(serializers.Serializer):
    email = EmailField()


class RegisterCompleteInput(serializers.Serializer):
    token = token_field("The `token` query parameter of the emailed verification link.")
    name = StringField(max_length=150)
    password = password_field(help_text="At least 8 characters, not common, not all digits, not like the email.")


class LoginInput(serializers.Serializer):
    email = EmailField()
    password = password_field()


class RefreshInput(serializers.Serializer):
    refreshToken = token_field("The refresh token from login, registration or the previous refresh.")


class InviteAcceptInput(serializers.Serializer):
    token = token_field("The `token` query parameter of the emailed invitation link.")
    password = password_field(help_text="The password the invited user chooses.")
    name = StringField(max_length=150, required=False, help_text="Replaces the name the inviter typed.")


class PasswordResetInput(serializers.Serializer):
    token = token_field("The `token` query parameter of the emailed password-reset link.")
    password = password_field(help_text="The new password.")


class PasswordChangeInput(serializers.Serializer):
    currentPassword = password_field()
    newPassword = password_field()


class ProfileUpdateInput(serializers.Serializer):
    """PATCH: fields left out stay as they are."""

    name = StringField(max_length=150, required=False)


# --- Output -----------------------------------------------------------------------


class TokenPairOutput(serializers.Serializer):
    accessToken = serializers.CharField(source="access_token", help_text="JWT (HS256), valid 15 minutes.")
    refreshToken = serializers.CharField(
        source="refresh_token", help_text="Opaque, valid 7 days, single use: each refresh returns a new one."
    )


class _UserFields(serializers.ModelSerializer):
    """Every user field the API may show; subclasses pick theirs, in the spec's order."""

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    customerId = serializers.UUIDField(source="customer_id", allow_null=True, read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    status = serializers.ChoiceField(choices=UserStatus.choices, read_only=True)
    provider = serializers.CharField(read_only=True)
    providerId = serializers.CharField(source="provider_id", allow_null=True, read_only=True)
    emailVerified = serializers.BooleanField(source="email_verified", read_only=True)
    lastLoginAt = serializers.DateTimeField(source="last_login_at", allow_null=True, read_only=True)
    needsOnboarding = serializers.BooleanField(
        source="needs_onboarding",
        read_only=True,
        help_text="True until the user belongs to a customer (POST /customers/onboard); never for platform admins.",
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True, read_only=True)

    class Meta:
        model = User
        fields = []


PROFILE_FIELDS = [
    "id",
    "email",
    "name",
    "customerId",
    "role",
    "status",
    "provider",
    "providerId",
    "emailVerified",
    "lastLoginAt",
    "needsOnboarding",
    "createdAt",
    "updatedAt",
    "deletedAt",
]


class ProfileOutput(_UserFields):
    class Meta(_UserFields.Meta):
        fields = PROFILE_FIELDS


class AuthUserOutput(_UserFields):
    """The user inside a login answer."""

    class Meta(_UserFields.Meta):
        # The profile without the provider's id, the last login and the deletion.
        fields = [field for field in PROFILE_FIELDS if field not in ("providerId", "lastLoginAt", "deletedAt")]


class RegisteredUserOutput(_UserFields):
    """The new user of a completed registration, with the tokens inside (as the spec shows)."""

    tokens = serializers.SerializerMethodField()

    class Meta(_UserFields.Meta):
        # The profile, with the tokens before its timestamps.
        fields = [*PROFILE_FIELDS[:-3], "tokens", *PROFILE_FIELDS[-3:]]

    @extend_schema_field(TokenPairOutput)
    def get_tokens(self, user):
        return TokenPairOutput(self.context["session"]).data


class RegistrationOutput(serializers.Serializer):
    user = RegisteredUserOutput()


class SessionOutput(serializers.Serializer):
    """{user, tokens} of a login (or an accepted invitation)."""

    user = AuthUserOutput()
    tokens = TokenPairOutput(source="*")


class AuthOutput(serializers.Serializer):
    auth = SessionOutput(source="*")


class TokensOutput(serializers.Serializer):
    tokens = TokenPairOutput(source="*")


class VerificationSent(serializers.Serializer):
    email = serializers.EmailField()
    expiresIn = serializers.CharField(help_text='e.g. "24 hours"')


class VerificationSentOutput(serializers.Serializer):
    verification = VerificationSent()


class PasswordResetRequested(serializers.Serializer):
    email = serializers.EmailField()
    expiresIn = serializers.CharField(help_text='e.g. "1 hour"')


class PasswordResetRequestedOutput(serializers.Serializer):
    passwordReset = PasswordResetRequested()
