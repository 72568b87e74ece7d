"""The fail-closed bases every non-public endpoint uses (DESIGN.md, Tenancy).

Tenant endpoints subclass `TenantScopedViewSet` (or `TenantScopedAPIView` for a
non-model endpoint); platform-admin endpoints subclass `PlatformAdminViewSet` /
`PlatformAdminAPIView`; an endpoint open to any signed-in user, tenant or not,
subclasses `SignedInAPIView`. The base permissions are additive: a subclass's
`permission_classes` are checked after them, never instead of them, and subclasses may
not override `get_permissions`/`get_authenticators` (nor, on tenant viewsets,
`get_queryset`/`get_object`: PostHog's `safely_get_queryset` pattern). The tenant
filter is applied last, so forgetting it is impossible; another tenant's object is a
404 with the same message as a missing one. `morpheus/tests/test_url_scope.py` walks
every /api/v1 URL and fails for a view that is none of these and not on its public list.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated, OperandHolder, SingleOperandHolder
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from .pagination import PagePagination
from .parsing import validated
from .permissions import HasActionRole, IsPlatformAdmin, IsTenantMember
from .responses import created, ok

if TYPE_CHECKING:  # a stub-only protocol
    from rest_framework.permissions import _SupportsHasPermission

PermissionClasses = Sequence[type[BasePermission] | OperandHolder | SingleOperandHolder]


class ListKeyMixin:
    """`list_key = "agents"` names the list in the page payload and in the schema."""

    list_key = "items"
    pagination_class: Any  # declared by the view this is mixed into

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "list_key" in cls.__dict__ and "pagination_class" not in cls.__dict__:
            cls.pagination_class = type(f"{cls.__name__}Pagination", (PagePagination,), {"items_key": cls.list_key})


class ProtectedAccessMixin:
    """Fixed authentication and additive permissions: `base_permission_classes` always
    run first, then the subclass's own `permission_classes`, then `action_permissions`
    for the current action ({action: permission classes})."""

    base_permission_classes: ClassVar[PermissionClasses] = ()
    permission_classes: PermissionClasses = ()
    action_permissions: ClassVar[dict[str, PermissionClasses]] = {}
    protected_methods: ClassVar[tuple[str, ...]] = ("get_permissions", "get_authenticators")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:  # the bases below define them
            return
        for name in cls.protected_methods:
            # Resolved through the MRO, so a mixin listed before the base cannot replace it either.
            owner = next(klass for klass in cls.__mro__ if name in klass.__dict__)
            if owner.__module__ != __name__:
                raise TypeError(
                    f"{cls.__name__} must not override {name}; add checks through permission_classes "
                    "(they run after the base's) or narrow data through safely_get_queryset."
                )
        if "authentication_classes" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not set authentication_classes; protected APIs use the default.")

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [auth() for auth in APIView.authentication_classes]  # the settings default

    def get_permissions(self) -> Sequence["_SupportsHasPermission"]:
        for_action = self.action_permissions.get(getattr(self, "action", None) or "", ())
        extra = [cls for cls in (*self.permission_classes, *for_action) if cls not in self.base_permission_classes]
        return [permission() for permission in (*self.base_permission_classes, *extra)]


class TenantAccessMixin(ProtectedAccessMixin):
    """Signed in, member of an active customer, calling from an allowed IP, with a role
    `action_roles` allows ({action or lower-case method: roles}); actions not named take
    `default_roles` (every tenant role unless set, e.g. MANAGER_ROLES for settings APIs)."""

    base_permission_classes = (IsAuthenticated, IsTenantMember, HasActionRole)
    action_roles: ClassVar[dict[str, Sequence[str]]] = {}
    default_roles: ClassVar[Sequence[str] | None] = None


class PlatformAdminAccessMixin(ProtectedAccessMixin):
    base_permission_classes = (IsAuthenticated, IsPlatformAdmin)


class TenantScopedAPIView(TenantAccessMixin, APIView):
    """A tenant endpoint that is not a model collection (e.g. /customers/me)."""


class PlatformAdminAPIView(PlatformAdminAccessMixin, APIView):
    pass


# An endpoint for any signed-in user, with a customer or not (before onboarding, a platform
# admin): the caller's own profile, password and sessions, onboarding itself, the provider
# catalogue. Its route is on test_url_scope's PUBLIC list with the reason. (A comment, not
# a docstring: drf-spectacular would show an inherited docstring as the operation's description.)
class SignedInAPIView(ProtectedAccessMixin, APIView):
    base_permission_classes = (IsAuthenticated,)


class PlatformAdminViewSet(PlatformAdminAccessMixin, ListKeyMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    pass


class TenantScopedViewSet(TenantAccessMixin, ListKeyMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    protected_methods = ("get_permissions", "get_authenticators", "get_queryset", "get_object")
    # Integer ids; anything else in the path does not match the route (404).
    lookup_value_regex = r"[0-9]+"
    # e.g. "Agent" -> "Agent with ID 123 does not exist"
    not_found_label: str | None = None
    # The field that links a row to its customer.
    customer_field = "customer"
    # The field that links a row to its agent ("pk" for agents themselves). A request whose
    # credentials are limited to some agents (an agent-restricted API key: `request.auth`
    # has `agent_ids`) sees only their rows, and nothing where this is None.
    agent_field: str | None = None
    # {action: output serializer} where it is not `serializer_class`.
    serializer_classes: ClassVar[dict[str, type[BaseSerializer[Any]]]] = {}

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Narrow, annotate or select_related here; the tenant filter is applied after."""
        return queryset

    def _base_queryset(self) -> QuerySet[Any]:
        if self.queryset is None:
            raise TypeError(f"{type(self).__name__} must set queryset")
        return self.queryset.all()

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.safely_get_queryset(self._base_queryset())
        return self._scoped(queryset, customer_field=self.customer_field, agent_field=self.agent_field)

    def unrestricted_customer_id(self) -> Any:
        """The tenant whose every row this credential may see, or None when `_scoped` would
        narrow further (an agent-restricted API key) or there is no tenant. A view reading
        through a prepared statement (morpheus/api/rows.PreparedList) filters on it, and
        takes `get_queryset()` in every other case."""
        customer_id = getattr(self.request.user, "customer_id", None)
        if customer_id is None or getattr(self.request.auth, "agent_ids", None) is not None:
            return None
        return customer_id

    def _scoped(self, queryset: QuerySet[Any], *, customer_field: str, agent_field: str | None) -> QuerySet[Any]:
        """This tenant's rows and, for agent-restricted credentials, only their agents'."""
        customer_id = getattr(self.request.user, "customer_id", None)
        if customer_id is None:  # permissions refuse this first; stay closed regardless
            return queryset.none()
        queryset = queryset.filter(**{f"{customer_field}_id": customer_id})
        agent_ids = getattr(self.request.auth, "agent_ids", None)
        if agent_ids is not None:
            if agent_field is None:
                return queryset.none()
            queryset = queryset.filter(**{f"{agent_field}__in": agent_ids})
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        """`serializer_classes` names the output of an action whose rows render differently
        ({"retrieve": CallDetail}); every other action renders with `serializer_class`."""
        return self.serializer_classes.get(self.action or "") or super().get_serializer_class()

    def get_parent_object(
        self, queryset: QuerySet[Any], value: object, *, label: str, agent_field: str | None = "pk"
    ) -> Any:
        """The other object a nested path names (the agent of /agents/:id/versions), scoped
        exactly like the view's own rows; another tenant's, or an agent outside a restricted
        key's list, is the same 404 as a missing one."""
        obj = self._scoped(queryset, customer_field="customer", agent_field=agent_field).filter(pk=value).first()
        if obj is None:
            raise NotFound(f"{label} with ID {value} does not exist")
        return obj

    def get_object(self) -> Model:
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        value = self.kwargs[lookup_url_kwarg]
        queryset = self.filter_queryset(self.get_queryset())
        obj: Model | None = queryset.filter(**{self.lookup_field: value}).first()
        if obj is None:
            raise NotFound(self.not_found_message(value))
        self.check_object_permissions(self.request, obj)
        return obj

    def not_found_message(self, value: object) -> str:
        label = self.not_found_label or str(self._base_queryset().model._meta.verbose_name).title()
        return f"{label} with ID {value} does not exist"


# --- The actions of a thin resource ---------------------------------------------------
#
# A resource whose actions are "parse, call one service, render" declares its serializers
# and services instead of writing the actions (docs/contributing.md, Views):
#
#     class PhoneNumberViewSet(ListMixin, CreateMixin, mixins.RetrieveModelMixin,
#                              PartialUpdateMixin, DestroyMixin, TenantScopedViewSet):
#         serializer_class = PhoneNumberOutput
#         list_query_class = PhoneNumberListQuery
#         create_serializer_class = PhoneNumberCreateInput
#         update_serializer_class = PhoneNumberUpdateInput
#
#         def filter_list(self, queryset, **query):
#             return selectors.phone_number_filter(queryset, **query)
#
#         def create_object(self, data):
#             return services.phone_number_create(customer=self.request.user.customer, data=data)
#         ...
#
# Retrieve is DRF's RetrieveModelMixin; the others keep the order the hand-written actions
# had (the row is looked up before its body is parsed), so errors are answered as before.
# Their OpenAPI documentation is the app's schema.py, `resource_views(...)` (morpheus/api/schema.py).

if TYPE_CHECKING:  # what the mixins use of the viewset they are mixed into
    _ViewSet = TenantScopedViewSet
else:
    _ViewSet = object


class ListMixin(mixins.ListModelMixin, _ViewSet):
    """GET the collection, through DRF's list: the query string is validated by
    `list_query_class` (a serializer) and its data handed to `filter_list` (a selector);
    the rows render with `serializer_classes["list"]` or `serializer_class`."""

    list_query_class: type[BaseSerializer[Any]] | None = None

    def filter_list(self, queryset: QuerySet[Any], **query: Any) -> QuerySet[Any]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if self.action != "list" or self.list_query_class is None:
            return queryset
        query = validated(self.list_query_class, self.request.query_params)
        return self.filter_list(queryset, **query)


class CreateMixin(_ViewSet):
    """POST the collection: `create_serializer_class` parses the body, `create_object`
    (the service) writes the row, and the answer is 201 with the row rendered."""

    create_serializer_class: type[BaseSerializer[Any]]

    def create_object(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} calls its create service in create_object")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = validated(self.create_serializer_class, request.data)
        return created(self.get_serializer(self.create_object(body)).data)


class PartialUpdateMixin(_ViewSet):
    """PATCH a row: it is looked up (404 first), `update_serializer_class` parses the
    body as a partial update and `update_object` (the service) applies it."""

    update_serializer_class: type[BaseSerializer[Any]]

    def update_object(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} calls its update service in update_object")

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        body = validated(self.update_serializer_class, request.data, partial=True)
        return ok(self.get_serializer(self.update_object(obj, body)).data)


class DestroyMixin(_ViewSet):
    """DELETE a row through `destroy_object` (the service); the answer is `{"id": ...}`."""

    def destroy_object(self, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} calls its delete service in destroy_object")

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        obj_id = obj.pk
        self.destroy_object(obj)
        return ok({"id": obj_id})


class NestedMixin(_ViewSet):
    """A collection under another row of the tenant (/agents/{agent_id}/versions): before
    any action runs, the parent named by `parent_kwarg` is looked up in `parent_queryset`,
    scoped like the view's own rows, as `self.parent`; a missing one, or another tenant's,
    is `parent_label`'s 404 ("Agent with ID 7 does not exist", also in the schema)."""

    parent_queryset: QuerySet[Any]
    parent_kwarg = "agent_id"
    parent_label = ""
    parent: Any = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Not for OPTIONS ("metadata") nor a method the route refuses (no action: its 405).
        if self.action not in (None, "metadata"):
            self.parent = self.get_parent_object(
                self.parent_queryset, self.kwargs[self.parent_kwarg], label=self.parent_label
            )
