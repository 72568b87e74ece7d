"""Who may control a call (end it, join the agent): DESIGN.md's roles applied to calls.

Owners and admins control every call of their organization. Members build and test
agents, so they control the simulations they started themselves, and only those: ending a
customer's live phone call is an operator's decision.
"""

from rest_framework.permissions import BasePermission

from accounts.models import MANAGER_ROLES
from morpheus.errors import FORBIDDEN_MESSAGE


def can_control_call(user, call) -> bool:
    if user.role in MANAGER_ROLES:
        return True
    return call.is_simulation and call.created_by_id is not None and call.created_by_id == user.id


class CanControlCall(BasePermission):
    message = FORBIDDEN_MESSAGE

    def has_object_permission(self, request, view, obj):
        return can_control_call(request.user, obj)
