"""Reads for tenancy, returning QuerySets the views page through."""

from uuid import UUID

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User

from .models import Customer, ProviderKey


def team_users() -> QuerySet[User]:
    """Every not-removed user; the tenant viewset narrows it to the caller's customer."""
    return User.objects.filter(deleted_at__isnull=True)


def team_users_filter(
    queryset: QuerySet[User], *, role: str | None = None, status: str | None = None, search: str | None = None
) -> QuerySet[User]:
    if role:
        queryset = queryset.filter(role=role)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(email__icontains=search))
    return queryset.order_by("created_at", "id")


def platform_customers(*, search: str | None = None, status: str | None = None) -> QuerySet[Customer]:
    """All tenants (not soft-deleted), newest first, with how many team members each has.

    The count is a subquery per listed tenant, not a join with GROUP BY: a page then reads
    its 20 tenants from customer_created_idx in order instead of grouping every tenant."""
    members = (
        User.objects.filter(customer=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("customer")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = Customer.objects.filter(deleted_at__isnull=True).annotate(
        user_count=Coalesce(Subquery(members, output_field=IntegerField()), 0)
    )
    if search:
        queryset = queryset.filter(company_name__icontains=search)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "id")


def provider_keys(*, customer_id: UUID | str) -> QuerySet[ProviderKey]:
    """The customer's own provider credentials, one per vendor, in vendor order."""
    return ProviderKey.objects.filter(customer_id=customer_id).order_by("vendor")
