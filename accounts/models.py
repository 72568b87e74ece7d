import uuid
from typing import TYPE_CHECKING, Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from morpheus.models import TimestampedModel

from .normalization import normalize_email


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", "Platform admin"
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)
MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class UserStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INVITED = "invited", "Invited"
    SUSPENDED = "suspended", "Suspended"


if TYPE_CHECKING:  # the stubs' generic manager; not subscriptable at runtime
    _UserManagerBase = BaseUserManager["User"]
else:
    _UserManagerBase = BaseUserManager


class UserManager(_UserManagerBase):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email=normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        if not email:
            raise ValueError("Users must have an email address")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password", "customer"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        """`createsuperuser` makes a platform admin: API and Django admin access."""
        fields.update(role=Role.PLATFORM_ADMIN, status=UserStatus.ACTIVE, email_verified=True, customer=None)
        fields.setdefault("name", email.split("@")[0])
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150)
    customer = models.ForeignKey(
        "tenants.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=20, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    provider = models.CharField(max_length=20, default="local")
    provider_id = models.CharField(max_length=255, null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    last_login_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Django's own last_login is replaced by last_login_at, the spec's name.
    last_login = None

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        # The team list (GET /users) and its role and status filters, in its order; members
        # only (removed users are never listed). test_list_indexes.py checks the plans.
        indexes = [
            models.Index(
                fields=["customer", "created_at", "id"],
                name="user_customer_created_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["customer", "role", "created_at", "id"],
                name="user_customer_role_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["customer", "status", "created_at", "id"],
                name="user_customer_status_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE and self.deleted_at is None

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN

    @property
    def is_staff(self) -> bool:
        # Only platform admins may sign in to the Django admin, whatever a tenant role.
        return self.is_platform_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_platform_admin

    @property
    def needs_onboarding(self) -> bool:
        return self.customer_id is None and not self.is_platform_admin

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_active and self.is_platform_admin

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(p, obj) for p in perm_list)

    def has_module_perms(self, app_label) -> bool:
        return self.is_active and self.is_platform_admin


class RefreshToken(models.Model):
    """An opaque refresh token, stored only as its SHA-256 hash.

    Tokens rotate within a family; presenting a used or revoked one revokes the family
    (OAuth 2.0 Security BCP, refresh token reuse detection).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="refresh_user_revoked_idx")]

    def __str__(self):
        return f"RefreshToken {self.pk} of {self.user_id}"
