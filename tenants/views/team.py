"""/users: the caller's team. Tenant-scoped through TenantScopedViewSet (another
tenant's user, or a removed one, is a 404)."""

from rest_framework import mixins

from accounts.models import MANAGER_ROLES
from morpheus.api.parsing import validated
from morpheus.api.responses import created, ok
from morpheus.api.throttling import AtomicRateThrottle
from morpheus.api.viewsets import TenantScopedViewSet
from tenants import selectors, services

from .. import schema
from ..serializers import (
    InvitedUserOutput,
    InviteInput,
    RoleUpdateInput,
    RoleUpdateOutput,
    TeamUserDetailOutput,
    TeamUserOutput,
    TeamUserQuery,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
REMOVED_MESSAGE = "User removed successfully"


class InvitationRateThrottle(AtomicRateThrottle):
    """Invitations send mail, so each customer may send a bounded number per hour.

    The rate is REST_FRAMEWORK DEFAULT_THROTTLE_RATES["invite"], 100/hour when unset.
    """

    scope = "invite"
    default_rate = "100/hour"

    def allow_request(self, request, view):
        if getattr(view, "action", None) != "create":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.customer_id}


@schema.team_user
class TeamUserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = selectors.team_users()
    serializer_class = TeamUserOutput
    list_key = "users"
    not_found_label = "User"
    lookup_value_regex = UUID_PATTERN
    action_roles = {"create": MANAGER_ROLES, "partial_update": MANAGER_ROLES, "destroy": MANAGER_ROLES}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_classes = [InvitationRateThrottle]
    success_messages = {
        "list": "Users retrieved successfully",
        "retrieve": "User retrieved successfully",
        "create": "User invited successfully",
        "partial_update": "User role updated successfully",
        "destroy": REMOVED_MESSAGE,
    }

    def safely_get_queryset(self, queryset):
        if self.action != "list":
            return queryset
        query = validated(TeamUserQuery, self.request.query_params)
        return selectors.team_users_filter(queryset, **query)

    def get_serializer_class(self):
        return TeamUserDetailOutput if self.action == "retrieve" else TeamUserOutput

    @schema.team_user_create
    def create(self, request):
        payload = validated(InviteInput, request.data)
        user = services.user_invite(
            customer=request.user.customer,
            actor=request.user,
            email=payload["email"],
            name=payload.get("name", ""),
            role=payload["role"],
        )
        return created(InvitedUserOutput(user).data)

    @schema.team_user_partial_update
    def partial_update(self, request, pk=None):
        target = self.get_object()
        payload = validated(RoleUpdateInput, request.data)
        user = services.user_role_change(user=target, role=payload["role"], actor=request.user)
        return ok(RoleUpdateOutput(user).data)

    @schema.team_user_destroy
    def destroy(self, request, pk=None):
        target = self.get_object()
        services.user_remove(user=target, actor=request.user)
        return ok({"message": REMOVED_MESSAGE})
