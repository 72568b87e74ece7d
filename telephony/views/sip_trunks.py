"""/sip-trunks: a customer's outbound carrier trunks (owners and admins only)."""

from django.db.models import Prefetch
from rest_framework import mixins

from accounts.models import MANAGER_ROLES
from morpheus.api.viewsets import CreateMixin, DestroyMixin, ListMixin, PartialUpdateMixin, TenantScopedViewSet

from .. import schema, trunks
from ..models import PhoneNumber, SipTrunk
from ..trunk_serializers import SipTrunkInput, SipTrunkOutput


@schema.sip_trunk
class SipTrunkViewSet(
    ListMixin, CreateMixin, mixins.RetrieveModelMixin, PartialUpdateMixin, DestroyMixin, TenantScopedViewSet
):
    queryset = SipTrunk.objects.all()
    serializer_class = SipTrunkOutput
    create_serializer_class = update_serializer_class = SipTrunkInput
    list_key = "sipTrunks"
    not_found_label = "SIP trunk"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    action_roles = dict.fromkeys(("list", "retrieve", "create", "partial_update", "destroy"), MANAGER_ROLES)
    success_messages = {
        "list": "SIP trunks retrieved successfully",
        "create": "SIP trunk created successfully",
        "retrieve": "SIP trunk retrieved successfully",
        "partial_update": "SIP trunk updated successfully",
        "destroy": "SIP trunk deleted successfully",
    }

    def safely_get_queryset(self, queryset):
        return queryset.prefetch_related(Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("id")))

    # Written rows are read again through the view's queryset: the answer lists their numbers.
    def create_object(self, data):
        return self._reload(trunks.sip_trunk_create(customer=self.request.user.customer, data=data))

    def update_object(self, trunk, data):
        return self._reload(trunks.sip_trunk_update(trunk=trunk, data=data))

    def destroy_object(self, trunk):
        trunks.sip_trunk_delete(trunk=trunk)

    def _reload(self, trunk):
        return self.get_queryset().get(pk=trunk.pk)
