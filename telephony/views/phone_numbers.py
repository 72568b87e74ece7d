"""/phone-numbers: the inventory of numbers a tenant owns and the agent each reaches."""

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet

from .. import schema, selectors, services
from ..models import PhoneNumber
from ..serializers import (
    PhoneNumberCreateInput,
    PhoneNumberListQuery,
    PhoneNumberOutput,
    PhoneNumberUpdateInput,
)


@schema.phone_number
class PhoneNumberViewSet(TenantScopedViewSet):
    # Every tenant role reads the inventory; owners and admins change it (DESIGN.md).

    queryset = PhoneNumber.objects.all()
    serializer_class = PhoneNumberOutput
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

    @schema.phone_number_list
    def list(self, request):
        query = PhoneNumberListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        numbers = selectors.phone_number_filter(self.get_queryset(), **query.validated_data)
        page = self.paginate_queryset(numbers)
        return self.get_paginated_response(PhoneNumberOutput(page, many=True).data)

    @schema.phone_number_create
    def create(self, request):
        body = PhoneNumberCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        number = services.phone_number_create(customer=request.user.customer, data=body.validated_data)
        return created(PhoneNumberOutput(number).data)

    @schema.phone_number_retrieve
    def retrieve(self, request, pk=None):
        return ok(PhoneNumberOutput(self.get_object()).data)

    @schema.phone_number_partial_update
    def partial_update(self, request, pk=None):
        number = self.get_object()
        body = PhoneNumberUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        number = services.phone_number_update(phone_number=number, data=body.validated_data)
        return ok(PhoneNumberOutput(number).data)

    @schema.phone_number_destroy
    def destroy(self, request, pk=None):
        number = self.get_object()
        number_id = number.pk
        services.phone_number_delete(phone_number=number)
        return ok({"id": number_id})
