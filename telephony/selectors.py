"""Reads for the phone-number inventory. Tenant scoping is the caller's: views pass
the base viewset's already-scoped queryset in."""

from django.db.models import Q, QuerySet

from .models import PhoneNumber


def phone_number_with_agent(queryset: QuerySet[PhoneNumber]) -> QuerySet[PhoneNumber]:
    """Joins the assigned agent, so its name costs no query per number."""
    return queryset.select_related("agent")


def phone_number_filter(
    queryset: QuerySet[PhoneNumber], *, agent_id: int | None = None, search: str = ""
) -> QuerySet[PhoneNumber]:
    if agent_id is not None:
        queryset = queryset.filter(agent_id=agent_id)
    if search:
        queryset = queryset.filter(Q(phone_number__icontains=search) | Q(friendly_name__icontains=search))
    return queryset
