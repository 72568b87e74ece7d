"""/phone-numbers: the inventory of numbers a tenant owns and the agent each reaches."""

from rest_framework import mixins

from accounts.models import MANAGER_ROLES
from morpheus.api.viewsets import CreateMixin, DestroyMixin, ListMixin, PartialUpdateMixin, TenantScopedViewSet

from .. import schema, selectors, services
from ..models import PhoneNumber
from ..serializers import (
    PhoneNumberCreateInput,
    PhoneNumberListQuery,
    PhoneNumberOutput,
    PhoneNumberUpdateInput,
)


@schema.phone_number
class PhoneNumberViewSet(
    ListMixin, CreateMixin, mixins.RetrieveModelMixin, PartialUpdateMixin, DestroyMixin, TenantScopedViewSet
):
    # Every tenant role reads the inventory; owners and admins change it (DESIGN.md).

    queryset = PhoneNumber.objects.all()
    serializer_class = PhoneNumberOutput
    list_query_class = PhoneNumberListQuery
    create_serializer_class = PhoneNumberCreateInput
    update_serializer_class = PhoneNumberUpdateInput
    list_key = "phoneNumbers"
    not_found_label = "Phone number"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    action_roles = {"create": MANAGER_ROLES, "partial_update": MANAGER_ROLES, "destroy": MANAGER_ROLES}
    success_messages = {
        "list": "Phone numbers retrieved successfully",
        "create": "Phone number added successfully",
        "retrieve": "Phone number retrieved successfully",
        "partial_update": "Phone number updated successfully",
        "destroy": "Phone number deleted successfully",
    }

    def safely_get_queryset(self, queryset):
        return selectors.phone_number_with_agent(queryset)

    def filter_list(self, queryset, **query):
        return selectors.phone_number_filter(queryset, **query)

    def create_object(self, data):
        return services.phone_number_create(customer=self.request.user.customer, data=data)

    def update_object(self, number, data):
        return services.phone_number_update(phone_number=number, data=data)

    def destroy_object(self, number):
        services.phone_number_delete(phone_number=number)
