"""/customers/onboard and /customers/me."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.models import MANAGER_ROLES
from morpheus.api.request_info import client_ip
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedAPIView
from tenants import services

from .serializers import CustomerOutput, CustomerUpdateInput, OnboardInput, OnboardOutput

CUSTOMER_EXAMPLE = {
    "id": "880e8400-e29b-41d4-a716-446655440000",
    "companyName": "Tech Corp",
    "phone": "+1234567890",
    "description": "AI Lab",
    "status": "active",
    "avatar": None,
    "settings": {},
    "allowedIps": [],
    "createdBy": "550e8400-e29b-41d4-a716-446655440000",
    "createdAt": "2026-02-05T21:40:00.000Z",
    "updatedAt": "2026-02-05T21:40:00.000Z",
    "deletedAt": None,
}


class OnboardView(APIView):
    success_messages = {
        "post": "Customer onboarded successfully",
    }
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["customers"],
        summary="Create your company and become its owner",
        description=(
            "In one transaction: creates the customer, makes the caller its `owner` and clears "
            "`needsOnboarding`. `phone` is E.164 (spaces, dashes, dots and parentheses are removed "
            "first). A second onboarding, even two sent at the same moment, is refused with 409 "
            '"You have already completed onboarding for a customer"; platform admins get 403.'
        ),
        request=OnboardInput,
        responses={
            201: OnboardOutput,
            403: OpenApiResponse(description="Platform admins do not belong to a customer and cannot onboard"),
            409: OpenApiResponse(description="You have already completed onboarding for a customer"),
        },
        examples=[
            OpenApiExample(
                "Onboard",
                value={"companyName": "Tech Corp", "phone": "+1234567890", "description": "AI Lab"},
                request_only=True,
            ),
            OpenApiExample(
                "Onboarded",
                value={
                    "customer": CUSTOMER_EXAMPLE,
                    "user": {
                        "id": "550e8400-e29b-41d4-a716-446655440000",
                        "customerId": "880e8400-e29b-41d4-a716-446655440000",
                        "role": "owner",
                    },
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request):
        payload = OnboardInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = services.customer_onboard(
            user=request.user,
            company_name=data["companyName"],
            phone=data.get("phone") or "",
            description=data.get("description") or "",
        )
        body = OnboardOutput({"customer": customer, "user": request.user}).data
        return created(body)


class CustomerMeView(TenantScopedAPIView):
    """The caller's own customer; the tenant permissions (onboarded, active, allowed IP,
    role) are the same ones every tenant endpoint uses."""

    success_messages = {
        "get": "Customer details retrieved",
        "patch": "Customer details updated",
    }

    action_roles = {"patch": MANAGER_ROLES}

    @extend_schema(
        tags=["customers"],
        summary="Your company",
        description="Any role of the customer. 403 until onboarding, when the customer is suspended, "
        "or when the caller's address is outside `allowedIps`.",
        responses={200: CustomerOutput},
        examples=[OpenApiExample("Customer", value=CUSTOMER_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return ok(CustomerOutput(request.user.customer).data)

    @extend_schema(
        tags=["customers"],
        summary="Update your company",
        description=(
            "Owners and admins. Partial: only the fields sent change. `phone` E.164 or null; "
            "`settings` is merged (RFC 7396); `allowedIps` replaces the list of single IPs and CIDR "
            "ranges (IPv4 and IPv6) and is enforced on every tenant request from then on, using the "
            "same client address as `requestInfo.ip`. A list that would exclude the address you are "
            "calling from is refused (400 on `allowedIps`) unless `confirmLockout` is true."
        ),
        request=CustomerUpdateInput,
        responses={200: CustomerOutput},
        examples=[
            OpenApiExample("Rename", value={"companyName": "Updated Corp"}, request_only=True),
            OpenApiExample(
                "Restrict to the office",
                value={"allowedIps": ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]},
                request_only=True,
            ),
        ],
    )
    def patch(self, request):
        payload = CustomerUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=request.user.customer,
            data=payload.changes(),
            client_ip=client_ip(request),
            confirm_lockout=payload.validated_data["confirmLockout"],
        )
        return ok(CustomerOutput(customer).data)
