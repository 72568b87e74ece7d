"""/phone-numbers: the inventory of numbers a tenant owns and the agent each reaches."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet

from . import examples, selectors, services
from .models import PhoneNumber
from .serializers import (
    PhoneNumberCreateInput,
    PhoneNumberDeleteOutput,
    PhoneNumberListQuery,
    PhoneNumberOutput,
    PhoneNumberPageOutput,
    PhoneNumberUpdateInput,
)


@extend_schema(tags=["phone-numbers"])
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

    @extend_schema(
        summary="List phone numbers",
        parameters=[PhoneNumberListQuery],
        responses=PhoneNumberPageOutput,
        examples=[examples.PHONE_NUMBER_LIST],
    )
    def list(self, request):
        query = PhoneNumberListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        numbers = selectors.phone_number_filter(self.get_queryset(), **query.validated_data)
        page = self.paginate_queryset(numbers)
        return self.get_paginated_response(PhoneNumberOutput(page, many=True).data)

    @extend_schema(
        summary="Add a phone number (BYO carrier)",
        description=(
            "Records a number you already route to the platform; nothing is bought from a carrier. "
            "A number already on the platform answers 409 'Phone number already exists', "
            "whoever owns it. Owners and admins only."
        ),
        request=PhoneNumberCreateInput,
        responses={201: PhoneNumberOutput, 409: OpenApiResponse(description="Phone number already exists")},
        examples=[
            examples.PHONE_NUMBER_CREATE_REQUEST,
            examples.PHONE_NUMBER_CREATE_WITH_AGENT_REQUEST,
            examples.PHONE_NUMBER_CREATE_RESPONSE,
        ],
    )
    def create(self, request):
        body = PhoneNumberCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        number = services.phone_number_create(customer=request.user.customer, data=body.validated_data)
        return created(PhoneNumberOutput(number).data)

    @extend_schema(summary="Get a phone number", responses=PhoneNumberOutput, examples=[examples.PHONE_NUMBER_RESPONSE])
    def retrieve(self, request, pk=None):
        return ok(PhoneNumberOutput(self.get_object()).data)

    @extend_schema(
        summary="Update a phone number (partial)",
        description="Rename it, assign an agent of your organization (`agentId`) or unassign (`null`). "
        "The number itself cannot change. Owners and admins only.",
        request=PhoneNumberUpdateInput,
        responses=PhoneNumberOutput,
        examples=[
            examples.PHONE_NUMBER_ASSIGN_REQUEST,
            examples.PHONE_NUMBER_UNASSIGN_REQUEST,
            examples.PHONE_NUMBER_RENAME_REQUEST,
            examples.PHONE_NUMBER_UPDATE_RESPONSE,
        ],
    )
    def partial_update(self, request, pk=None):
        number = self.get_object()
        body = PhoneNumberUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        number = services.phone_number_update(phone_number=number, data=body.validated_data)
        return ok(PhoneNumberOutput(number).data)

    @extend_schema(
        summary="Delete a phone number",
        description="Refused with 409 while a call on the number is ringing or active. Owners and admins only.",
        responses={
            200: PhoneNumberDeleteOutput,
            409: OpenApiResponse(description="The number is on a ringing or active call"),
        },
        examples=[examples.PHONE_NUMBER_DELETE_RESPONSE],
    )
    def destroy(self, request, pk=None):
        number = self.get_object()
        number_id = number.pk
        services.phone_number_delete(phone_number=number)
        return ok({"id": number_id})
