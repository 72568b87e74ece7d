"""Input and output shapes of the tenancy endpoints (camelCase, as the spec shows).

Inputs only check types and sizes; the rules (E.164, IP ranges, roles) live in
services and validators so every caller gets them.
"""

from rest_framework import serializers

from accounts.models import TENANT_ROLES, Role, UserStatus
from accounts.serializers import EmailField
from tenants.models import CustomerStatus
from tenants.services import INVALID_ROLE_MESSAGE

ROLE_CHOICE_ERRORS = {"invalid_choice": INVALID_ROLE_MESSAGE}
# The roles a customer's user can hold; platform_admin is never one of them.
TENANT_ROLE_CHOICES = [(role.value, role.label) for role in TENANT_ROLES]
HEALTH_STATUSES = ["healthy", "degraded", "unhealthy"]
COMPONENT_STATUSES = ["up", "down", "not_configured", "eager"]


# --- Customers --------------------------------------------------------------------


class CustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    companyName = serializers.CharField(source="company_name")
    phone = serializers.SerializerMethodField(help_text="E.164, or null when not set.")
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=CustomerStatus.choices)
    avatar = serializers.URLField(allow_null=True)
    settings = serializers.JSONField()
    allowedIps = serializers.SerializerMethodField(
        help_text="IPs and CIDR ranges allowed to call tenant endpoints; [] allows every address (never null).",
    )
    createdBy = serializers.UUIDField(source="created_by_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)

    def get_phone(self, customer) -> str | None:
        return customer.phone or None

    def get_allowedIps(self, customer) -> list[str]:
        # Stored null (never restricted) and [] mean the same; the spec shows [].
        return list(customer.allowed_ips or [])


class OnboardInput(serializers.Serializer):
    companyName = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)


class OnboardedUserOutput(serializers.Serializer):
    id = serializers.UUIDField()
    customerId = serializers.UUIDField(source="customer_id")
    role = serializers.ChoiceField(choices=TENANT_ROLE_CHOICES)


class OnboardOutput(serializers.Serializer):
    customer = CustomerOutput()
    user = OnboardedUserOutput()


class CustomerUpdateInput(serializers.Serializer):
    companyName = serializers.CharField(max_length=200, required=False)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True, help_text="E.164; null or '' clears it."
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    avatar = serializers.URLField(max_length=500, required=False, allow_null=True, allow_blank=True)
    settings = serializers.JSONField(
        required=False,
        help_text=(
            "A JSON object merged into the stored settings (RFC 7396 merge patch: a key set to null is "
            "removed). `theme` must be light, dark or system; `timezone` an IANA zone name. At most 16 KiB."
        ),
    )
    allowedIps = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
        help_text=(
            "Replaces the allow-list: single IPv4/IPv6 addresses and CIDR ranges (at most 100). "
            "null or [] removes the restriction. Refused when it would exclude the address you are "
            "calling from, unless confirmLockout is true."
        ),
    )
    confirmLockout = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Save an allowedIps list that does not include your current IP address.",
    )

    FIELD_MAP = {
        "companyName": "company_name",
        "phone": "phone",
        "description": "description",
        "avatar": "avatar",
        "settings": "settings",
        "allowedIps": "allowed_ips",
    }

    def changes(self) -> dict:
        """The fields present in the request, by model field name."""
        return {model: self.validated_data[api] for api, model in self.FIELD_MAP.items() if api in self.validated_data}


# --- Team -------------------------------------------------------------------------


class TeamUserOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=TENANT_ROLE_CHOICES)
    status = serializers.ChoiceField(choices=UserStatus.choices)
    lastLoginAt = serializers.DateTimeField(source="last_login_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class InvitedUserOutput(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    customerId = serializers.UUIDField(source="customer_id")
    role = serializers.ChoiceField(choices=TENANT_ROLE_CHOICES)
    status = serializers.ChoiceField(choices=UserStatus.choices)
    provider = serializers.CharField()
    emailVerified = serializers.BooleanField(source="email_verified")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class TeamUserDetailOutput(InvitedUserOutput):
    """One team member: the invited user's fields plus when they last logged in."""

    lastLoginAt = serializers.DateTimeField(source="last_login_at", allow_null=True)


class InviteInput(serializers.Serializer):
    email = EmailField()
    name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, help_text="Defaults to the part of the email before @."
    )
    role = serializers.ChoiceField(
        choices=TENANT_ROLE_CHOICES, required=False, default=Role.MEMBER, error_messages=ROLE_CHOICE_ERRORS
    )


class RoleUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=TENANT_ROLE_CHOICES, error_messages=ROLE_CHOICE_ERRORS)


class RoleUpdateOutput(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=TENANT_ROLE_CHOICES)
    email = serializers.EmailField()
    updatedAt = serializers.DateTimeField(source="updated_at")


class RemovedOutput(serializers.Serializer):
    message = serializers.CharField()


class TeamUserQuery(serializers.Serializer):
    # An empty value (`?search=`) means no filter, as a cleared search box sends it.
    role = serializers.ChoiceField(
        choices=TENANT_ROLE_CHOICES, required=False, allow_blank=True, error_messages=ROLE_CHOICE_ERRORS
    )
    status = serializers.ChoiceField(choices=UserStatus.choices, required=False, allow_blank=True)
    search = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Part of a name or email."
    )


# --- Platform admin ---------------------------------------------------------------


class PlatformCustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    companyName = serializers.CharField(source="company_name")
    status = serializers.ChoiceField(choices=CustomerStatus.choices)
    userCount = serializers.IntegerField(source="user_count", help_text="Team members, invited ones included.")
    createdAt = serializers.DateTimeField(source="created_at")


CAPACITY_MAX = 10000


class CallsInProgress(serializers.Serializer):
    inbound = serializers.IntegerField()
    outbound = serializers.IntegerField()


class CapacityIsDefault(serializers.Serializer):
    concurrencyLimit = serializers.BooleanField()
    reservedInboundConcurrency = serializers.BooleanField()


class PlatformCustomerDetailOutput(PlatformCustomerOutput):
    """A tenant with its call capacity (`capacity`: calls.selectors.call_capacity, set by the view)."""

    concurrencyLimit = serializers.IntegerField(
        source="capacity.concurrency_limit", help_text="Simultaneous calls (inbound and outbound)."
    )
    reservedInboundConcurrency = serializers.IntegerField(
        source="capacity.reserved_inbound_concurrency", help_text="Slots outbound calls may never take."
    )
    capacityIsDefault = CapacityIsDefault(
        source="capacity.is_default",
        help_text="True: the platform default (CALL_* settings), not set for this customer.",
    )
    callsInProgress = CallsInProgress(
        source="capacity.in_progress", allow_null=True, help_text="Calls holding a slot now; null when Redis is down."
    )


class PlatformCustomerCapacityInput(serializers.Serializer):
    """null sets a field back to the platform default."""

    concurrencyLimit = serializers.IntegerField(
        source="concurrency_limit", min_value=0, max_value=CAPACITY_MAX, allow_null=True, required=False
    )
    reservedInboundConcurrency = serializers.IntegerField(
        source="reserved_inbound_concurrency", min_value=0, max_value=CAPACITY_MAX, allow_null=True, required=False
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"concurrencyLimit": ["Give concurrencyLimit and/or reservedInboundConcurrency"]}
            )
        return attrs


class PlatformCustomerQuery(serializers.Serializer):
    search = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Part of the company name."
    )
    status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False, allow_blank=True)


class ComponentHealth(serializers.Serializer):
    status = serializers.ChoiceField(choices=COMPONENT_STATUSES)
    latencyMs = serializers.FloatField(allow_null=True)
    error = serializers.CharField(required=False, help_text="Why the component is down.")


class DatabaseHealth(ComponentHealth):
    vendor = serializers.CharField()
    serverVersion = serializers.CharField(required=False)
    connMaxAge = serializers.IntegerField(allow_null=True, help_text="Seconds a connection is kept; 0 closes it.")
    connHealthChecks = serializers.BooleanField()
    maxConnections = serializers.IntegerField(required=False, help_text="PostgreSQL only.")
    connections = serializers.IntegerField(required=False, help_text="PostgreSQL only: sessions on this database.")
    activeConnections = serializers.IntegerField(required=False, help_text="PostgreSQL only: running a query now.")
    pool = serializers.DictField(required=False, allow_null=True, help_text="psycopg pool statistics when pooled.")


class RedisHealth(ComponentHealth):
    serverVersion = serializers.CharField(required=False)
    connectedClients = serializers.IntegerField(required=False)
    usedMemory = serializers.CharField(required=False)


class CeleryHealth(ComponentHealth):
    workers = serializers.ListField(child=serializers.CharField(), help_text="Workers that answered the ping.")


class LiveKitHealth(ComponentHealth):
    host = serializers.CharField(required=False)
    rooms = serializers.IntegerField(required=False, help_text="Active rooms on the server.")


class HealthChecks(serializers.Serializer):
    database = DatabaseHealth()
    redis = RedisHealth()
    celery = CeleryHealth()
    livekit = LiveKitHealth()


class SystemHealthMemory(serializers.Serializer):
    rss = serializers.CharField()
    heapTotal = serializers.CharField()
    heapUsed = serializers.CharField()


class SystemHealth(serializers.Serializer):
    status = serializers.ChoiceField(choices=HEALTH_STATUSES)
    database = serializers.ChoiceField(choices=["connected", "disconnected"])
    timestamp = serializers.DateTimeField()
    uptime = serializers.CharField()
    memory = SystemHealthMemory()
    checks = HealthChecks()


class SystemHealthOutput(serializers.Serializer):
    health = SystemHealth()


class ProviderKeyOutput(serializers.Serializer):
    """Write-only secret: only its last four characters are ever shown."""

    vendor = serializers.CharField()
    keyLast4 = serializers.CharField(source="key_last4")
    baseUrl = serializers.CharField(source="base_url")
    checkedAt = serializers.DateTimeField(source="checked_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class ProviderKeyInput(serializers.Serializer):
    apiKey = serializers.CharField(max_length=500, trim_whitespace=True)
    baseUrl = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class VoiceOutput(serializers.Serializer):
    voiceId = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()


class ProviderKeyListOutput(serializers.Serializer):
    credentials = ProviderKeyOutput(many=True)
