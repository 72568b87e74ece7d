"""The fail-closed tenant-scoped base every tenant endpoint uses (DESIGN.md, Tenancy).

Subclasses may not define get_queryset/get_object (PostHog's `safely_get_queryset`
pattern): they narrow or annotate through `safely_get_queryset`, and the base applies
the customer filter last, so forgetting it is impossible. Another tenant's object is
a 404 with the same message as a missing one.
"""

from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated

from .pagination import PagePagination
from .permissions import HasActionRole, IsTenantMember


class ListKeyMixin:
    """`list_key = "agents"` names the list in the page payload and in the schema."""

    list_key = "items"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "list_key" in cls.__dict__ and "pagination_class" not in cls.__dict__:
            cls.pagination_class = type(f"{cls.__name__}Pagination", (PagePagination,), {"items_key": cls.list_key})


class TenantScopedViewSet(ListKeyMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsTenantMember, HasActionRole]
    # Integer ids; anything else in the path does not match the route (404).
    lookup_value_regex = r"[0-9]+"
    # e.g. "Agent" -> "Agent with ID 123 does not exist"
    not_found_label: str | None = None
    # {action: roles}; actions not named are open to every tenant role.
    action_roles: dict = {}
    # The field that links a row to its customer.
    customer_field = "customer"
    # The field that links a row to its agent ("pk" for agents themselves). A request whose
    # credentials are limited to some agents (an agent-restricted API key: `request.auth`
    # has `agent_ids`) sees only their rows, and nothing where this is None.
    agent_field: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("get_queryset", "get_object"):
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not override {name}; use safely_get_queryset so the "
                    "tenant filter cannot be bypassed."
                )

    def safely_get_queryset(self, queryset):
        """Narrow, annotate or select_related here; the tenant filter is applied after."""
        return queryset

    def get_queryset(self):
        customer_id = self.request.user.customer_id
        if customer_id is None:  # permissions refuse this first; stay closed regardless
            return self.queryset.none()
        queryset = self.safely_get_queryset(self.queryset.all())
        queryset = queryset.filter(**{f"{self.customer_field}_id": customer_id})
        agent_ids = getattr(self.request.auth, "agent_ids", None)
        if agent_ids is not None:
            if self.agent_field is None:
                return queryset.none()
            queryset = queryset.filter(**{f"{self.agent_field}__in": agent_ids})
        return queryset

    def get_object(self):
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        value = self.kwargs[lookup_url_kwarg]
        queryset = self.filter_queryset(self.get_queryset())
        obj = queryset.filter(**{self.lookup_field: value}).first()
        if obj is None:
            raise NotFound(self.not_found_message(value))
        self.check_object_permissions(self.request, obj)
        return obj

    def not_found_message(self, value) -> str:
        label = self.not_found_label or self.queryset.model._meta.verbose_name.title()
        return f"{label} with ID {value} does not exist"
