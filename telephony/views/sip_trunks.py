"""/sip-trunks: a customer's outbound carrier trunks (owners and admins only)."""

from django.db.models import Prefetch
from rest_framework import mixins

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedViewSet

from .. import schema, trunks
from ..models import PhoneNumber, SipTrunk
from ..trunk_serializers import SipTrunkInput, SipTrunkOutput


@schema.sip_trunk
class SipTrunkViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    queryset = SipTrunk.objects.all()
    serializer_class = SipTrunkOutput
    list_key = "sipTrunks"
    not_found_label = "SIP trunk"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    action_roles = {
        "list": MANAGER_ROLES,
        "retrieve": MANAGER_ROLES,
        "create": MANAGER_ROLES,
        "partial_update": MANAGER_ROLES,
        "destroy": MANAGER_ROLES,
    }
    success_messages = {
        "list": "SIP trunks retrieved successfully",
        "create": "SIP trunk created successfully",
        "retrieve": "SIP trunk retrieved successfully",
        "partial_update": "SIP trunk updated successfully",
        "destroy": "SIP trunk deleted successfully",
    }

    def safely_get_queryset(self, queryset):
        return queryset.prefetch_related(Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("id")))

    @schema.sip_trunk_list
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @schema.sip_trunk_create
    def create(self, request):
        body = SipTrunkInput(data=request.data)
        body.is_valid(raise_exception=True)
        trunk = trunks.sip_trunk_create(customer=request.user.customer, data=body.validated_data)
        return created(SipTrunkOutput(self._reload(trunk)).data)

    @schema.sip_trunk_retrieve
    def retrieve(self, request, pk=None):
        return ok(SipTrunkOutput(self.get_object()).data)

    @schema.sip_trunk_partial_update
    def partial_update(self, request, pk=None):
        trunk = self.get_object()
        body = SipTrunkInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        trunk = trunks.sip_trunk_update(trunk=trunk, data=body.validated_data)
        return ok(SipTrunkOutput(self._reload(trunk)).data)

    @schema.sip_trunk_destroy
    def destroy(self, request, pk=None):
        trunk = self.get_object()
        trunk_id = trunk.pk
        trunks.sip_trunk_delete(trunk=trunk)
        return ok({"id": trunk_id})

    def _reload(self, trunk):
        return self.get_queryset().get(pk=trunk.pk)
