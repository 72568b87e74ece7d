"""Who may call what: tenant membership, roles and platform admins."""

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import TENANT_ROLES, User
from tenants.ip_rules import ip_allowed

from .exceptions import FORBIDDEN_MESSAGE
from .request_info import client_ip

ONBOARDING_REQUIRED_MESSAGE = "Please complete onboarding to access this resource"
CUSTOMER_SUSPENDED_MESSAGE = "Your organization's account is suspended"
IP_NOT_ALLOWED_MESSAGE = "Access from your IP address is not allowed for this organization"


class IsTenantMember(BasePermission):
    """The user belongs to an active customer and calls from an allowed address."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        customer = user.customer
        if customer is None:
            raise PermissionDenied(ONBOARDING_REQUIRED_MESSAGE)
        if not customer.is_active:
            raise PermissionDenied(CUSTOMER_SUSPENDED_MESSAGE)
        if not ip_allowed(customer.allowed_ips, client_ip(request)):
            raise PermissionDenied(IP_NOT_ALLOWED_MESSAGE)
        return True


class HasActionRole(BasePermission):
    """Roles per action from the view's `action_roles` {action: roles}; an action not named
    takes the view's `default_roles` (every tenant role unless set). A refused role gets the
    spec's 403 message."""

    message = FORBIDDEN_MESSAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        action = getattr(view, "action", None) or (request.method or "").lower()
        default = getattr(view, "default_roles", None) or TENANT_ROLES
        roles = (getattr(view, "action_roles", None) or {}).get(action, default)
        return isinstance(request.user, User) and request.user.role in roles


class IsPlatformAdmin(BasePermission):
    message = FORBIDDEN_MESSAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_authenticated and user.is_platform_admin
