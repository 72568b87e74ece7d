"""/users: the caller's team. Tenant-scoped through TenantScopedViewSet (another
tenant's user, or a removed one, is a 404)."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.throttling import AtomicRateThrottle
from morpheus.api.viewsets import TenantScopedViewSet
from tenants import selectors, services

from .docs import ROLE_ERRORS, ROLE_TABLE
from .serializers import (
    InvitedUserOutput,
    InviteInput,
    RemovedOutput,
    RoleUpdateInput,
    RoleUpdateOutput,
    TeamUserDetailOutput,
    TeamUserOutput,
    TeamUserQuery,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
USER_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The user's UUID.")
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


@extend_schema_view(
    list=extend_schema(
        summary="List your team",
        description="Every role may list the team. Removed users are not listed.\n\n" + ROLE_TABLE,
        parameters=[TeamUserQuery],
    ),
    retrieve=extend_schema(summary="One teammate", parameters=[USER_ID], description=ROLE_TABLE),
)
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
        query = TeamUserQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.team_users_filter(queryset, **query.validated_data)

    def get_serializer_class(self):
        return TeamUserDetailOutput if self.action == "retrieve" else TeamUserOutput

    @extend_schema(
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
            409: OpenApiResponse(description="A user with this email already exists"),
            429: OpenApiResponse(description="Too many invitations from this customer; see Retry-After"),
        },
        examples=[
            OpenApiExample(
                "Invite", value={"email": "colleague@tech.com", "role": "member", "name": "Bob"}, request_only=True
            )
        ],
    )
    def create(self, request):
        payload = InviteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_invite(
            customer=request.user.customer,
            actor=request.user,
            email=payload.validated_data["email"],
            name=payload.validated_data.get("name", ""),
            role=payload.validated_data["role"],
        )
        return created(InvitedUserOutput(user).data)

    @extend_schema(
        summary="Change a teammate's role",
        description="Owners and admins, under the rules below. Takes effect on the user's next request.\n\n"
        + ROLE_TABLE
        + ROLE_ERRORS,
        parameters=[USER_ID],
        request=RoleUpdateInput,
        responses={
            200: RoleUpdateOutput,
            409: OpenApiResponse(description="The last owner of the organization cannot be demoted"),
        },
        examples=[OpenApiExample("Promote", value={"role": "admin"}, request_only=True)],
    )
    def partial_update(self, request, pk=None):
        target = self.get_object()
        payload = RoleUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_role_change(user=target, role=payload.validated_data["role"], actor=request.user)
        return ok(RoleUpdateOutput(user).data)

    @extend_schema(
        summary="Remove a teammate",
        description=(
            "Owners and admins. Soft delete: the user disappears from the team, every refresh token is "
            "revoked and their access token is refused on their next request.\n\n" + ROLE_TABLE + ROLE_ERRORS
        ),
        parameters=[USER_ID],
        request=None,
        responses={
            200: RemovedOutput,
            409: OpenApiResponse(description="The last owner of the organization cannot be removed"),
        },
    )
    def destroy(self, request, pk=None):
        target = self.get_object()
        services.user_remove(user=target, actor=request.user)
        return ok({"message": REMOVED_MESSAGE})
