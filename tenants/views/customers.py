"""/customers/onboard and /customers/me."""

from accounts.models import MANAGER_ROLES
from morpheus.api.parsing import validated
from morpheus.api.request_info import client_ip
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import SignedInAPIView, TenantScopedAPIView
from tenants import services

from .. import schema
from ..serializers import CustomerOutput, CustomerUpdateInput, OnboardInput, OnboardOutput


class OnboardView(SignedInAPIView):
    success_messages = {
        "post": "Customer onboarded successfully",
    }

    @schema.onboard_post
    def post(self, request):
        data = validated(OnboardInput, request.data)
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

    @schema.customer_me_get
    def get(self, request):
        return ok(CustomerOutput(request.user.customer).data)

    @schema.customer_me_patch
    def patch(self, request):
        payload = CustomerUpdateInput(data=request.data)  # its changes() are what the service applies
        payload.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=request.user.customer,
            data=payload.changes(),
            client_ip=client_ip(request),
            confirm_lockout=payload.validated_data["confirmLockout"],
        )
        return ok(CustomerOutput(customer).data)
