"""/api-keys, /webhook-endpoints, /webhook-deliveries, /customers/me/function-secret/rotate:
parse, call a service or selector, render. Owners and admins only: these are company
settings and credentials."""

from rest_framework import mixins
from rest_framework.decorators import action

from accounts.models import MANAGER_ROLES
from morpheus.api.parsing import validated
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import (
    DestroyMixin,
    ListMixin,
    PartialUpdateMixin,
    TenantScopedAPIView,
    TenantScopedViewSet,
)

from . import schema, selectors, services
from .models import ApiKey, WebhookDelivery, WebhookEndpoint
from .serializers import (
    ApiKeyCreatedOutput,
    ApiKeyCreateInput,
    ApiKeyOutput,
    DeliveryListQuery,
    FunctionSecretOutput,
    WebhookDeliveryDetailOutput,
    WebhookDeliveryOutput,
    WebhookEndpointCreateInput,
    WebhookEndpointOutput,
    WebhookEndpointUpdateInput,
    WebhookEndpointWithSecretOutput,
    event_catalogue,
)


@schema.api_key
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    default_roles = MANAGER_ROLES
    queryset = ApiKey.objects.all()
    serializer_class = ApiKeyOutput
    list_key = "apiKeys"
    not_found_label = "API key"
    http_method_names = ["get", "post", "delete", "head", "options"]
    success_messages = {
        "list": "API keys retrieved successfully",
        "create": "API key created successfully",
        "retrieve": "API key retrieved successfully",
        "destroy": "API key revoked successfully",
    }

    def safely_get_queryset(self, queryset):
        return queryset.select_related("created_by", "revoked_by")

    def create(self, request):
        data = validated(ApiKeyCreateInput, request.data)
        api_key, plaintext = services.api_key_create(customer=request.user.customer, actor=request.user, **data)
        return created(ApiKeyCreatedOutput(api_key, context={"plaintext": plaintext}).data)

    def destroy(self, request, pk=None):
        api_key = services.api_key_revoke(api_key=self.get_object(), actor=request.user)
        return ok(ApiKeyOutput(api_key).data)


@schema.webhook_endpoint
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, PartialUpdateMixin, DestroyMixin, TenantScopedViewSet
):
    default_roles = MANAGER_ROLES
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointOutput
    update_serializer_class = WebhookEndpointUpdateInput
    list_key = "webhookEndpoints"
    not_found_label = "Webhook endpoint"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    success_messages = {
        "list": "Webhook endpoints retrieved successfully",
        "create": "Webhook endpoint created successfully",
        "retrieve": "Webhook endpoint retrieved successfully",
        "partial_update": "Webhook endpoint updated successfully",
        "destroy": "Webhook endpoint deleted successfully",
        "rotate_secret": "Webhook secret rotated successfully",
        "test": "Test event queued",
        "events": "Event types retrieved successfully",
    }

    def create(self, request):
        data = validated(WebhookEndpointCreateInput, request.data)
        endpoint, secret = services.webhook_endpoint_create(customer=request.user.customer, actor=request.user, **data)
        output = WebhookEndpointWithSecretOutput(endpoint, context={"secret": secret}).data
        return created(output)

    def update_object(self, endpoint, data):
        return services.webhook_endpoint_update(endpoint=endpoint, data=data)

    def destroy_object(self, endpoint):
        services.webhook_endpoint_delete(endpoint=endpoint)

    @schema.webhook_endpoint_rotate_secret
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=self.get_object())
        output = WebhookEndpointWithSecretOutput(endpoint, context={"secret": secret}).data
        return ok(output)

    @schema.webhook_endpoint_test
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.webhook_endpoint_test(endpoint=self.get_object())
        return ok(WebhookDeliveryOutput(delivery).data, status=202)

    @schema.webhook_endpoint_events
    # Not paginated: without this the schema documented a page object (schemathesis, ST108).
    @action(detail=False, methods=["get"], pagination_class=None)
    def events(self, request):
        return ok(event_catalogue())


@schema.webhook_delivery
class WebhookDeliveryViewSet(ListMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    default_roles = MANAGER_ROLES
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliveryOutput
    serializer_classes = {"retrieve": WebhookDeliveryDetailOutput}
    list_query_class = DeliveryListQuery
    list_key = "webhookDeliveries"
    not_found_label = "Webhook delivery"
    http_method_names = ["get", "post", "head", "options"]
    success_messages = {
        "list": "Webhook deliveries retrieved successfully",
        "retrieve": "Webhook delivery retrieved successfully",
        "redeliver": "Redelivery queued",
    }

    def safely_get_queryset(self, queryset):
        return queryset.select_related("event")

    def filter_list(self, queryset, **query):
        return selectors.webhook_delivery_filter(queryset, **query)

    @schema.webhook_delivery_redeliver
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = services.webhook_delivery_redeliver(delivery=self.get_object())
        return ok(WebhookDeliveryOutput(delivery).data, status=202)


@schema.function_secret_rotate
class FunctionSecretRotateView(TenantScopedAPIView):
    success_messages = {
        "post": "Function secret rotated successfully",
    }
    default_roles = MANAGER_ROLES

    def post(self, request):
        secret, until = services.function_secret_rotate(customer=request.user.customer, rotated_by=request.user)
        output = FunctionSecretOutput({"secret": secret, "previousSecretValidUntil": until}).data
        return ok(output)
