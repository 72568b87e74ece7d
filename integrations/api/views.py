"""/api-keys, /webhook-endpoints, /webhook-deliveries, /customers/me/function-secret/rotate:
parse, call a service or selector, render. Owners and admins only: these are company
settings and credentials."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import TenantScopedAPIView, TenantScopedViewSet

from .. import selectors, services
from ..models import ApiKey, WebhookDelivery, WebhookEndpoint
from .serializers import (
    ApiKeyCreatedOutput,
    ApiKeyCreateInput,
    ApiKeyOutput,
    ApiKeyPageOutput,
    DeliveryListQuery,
    EventTypeOutput,
    FunctionSecretOutput,
    WebhookDeliveryDetailOutput,
    WebhookDeliveryOutput,
    WebhookDeliveryPageOutput,
    WebhookEndpointCreateInput,
    WebhookEndpointOutput,
    WebhookEndpointPageOutput,
    WebhookEndpointUpdateInput,
    WebhookEndpointWithSecretOutput,
    event_catalogue,
)


@extend_schema(tags=["integrations"])
class ApiKeyViewSet(TenantScopedViewSet):
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

    @extend_schema(summary="List API keys (revoked ones included)", responses=ApiKeyPageOutput)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeyOutput(page, many=True).data)

    @extend_schema(
        summary="Create an API key",
        description="The full key is in this response only; it is stored hashed and can never be read again.",
        request=ApiKeyCreateInput,
        responses={201: ApiKeyCreatedOutput},
    )
    def create(self, request):
        body = ApiKeyCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        api_key, plaintext = services.api_key_create(
            customer=request.user.customer,
            created_by=request.user,
            name=data["name"],
            scopes=data["scopes"],
            agent_ids=data.get("agentIds"),
            expires_at=data.get("expiresAt"),
        )
        return created(ApiKeyCreatedOutput(api_key, context={"plaintext": plaintext}).data)

    @extend_schema(summary="Get an API key", responses=ApiKeyOutput)
    def retrieve(self, request, pk=None):
        return ok(ApiKeyOutput(self.get_object()).data)

    @extend_schema(summary="Revoke an API key (at once)", responses=ApiKeyOutput)
    def destroy(self, request, pk=None):
        api_key = services.api_key_revoke(api_key=self.get_object(), revoked_by=request.user)
        return ok(ApiKeyOutput(api_key).data)


@extend_schema(tags=["integrations"])
class WebhookEndpointViewSet(TenantScopedViewSet):
    default_roles = MANAGER_ROLES
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointOutput
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

    @extend_schema(summary="List webhook endpoints", responses=WebhookEndpointPageOutput)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointOutput(page, many=True).data)

    @extend_schema(
        summary="Create a webhook endpoint",
        description="The signing secret (`whsec_…`) is in this response only.",
        request=WebhookEndpointCreateInput,
        responses={201: WebhookEndpointWithSecretOutput},
    )
    def create(self, request):
        body = WebhookEndpointCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        endpoint, secret = services.webhook_endpoint_create(
            customer=request.user.customer,
            created_by=request.user,
            url=data["url"],
            events=data["events"],
            agent_ids=data["agentIds"],
            description=data["description"],
            enabled=data["enabled"],
        )
        output = WebhookEndpointWithSecretOutput(endpoint, context={"secret": secret}).data
        return created(output)

    @extend_schema(summary="Get a webhook endpoint", responses=WebhookEndpointOutput)
    def retrieve(self, request, pk=None):
        return ok(WebhookEndpointOutput(self.get_object()).data)

    @extend_schema(
        summary="Update a webhook endpoint", request=WebhookEndpointUpdateInput, responses=WebhookEndpointOutput
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        body = WebhookEndpointUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, data=body.validated_data)
        return ok(WebhookEndpointOutput(endpoint).data)

    @extend_schema(summary="Delete a webhook endpoint (and its deliveries)", responses=None)
    def destroy(self, request, pk=None):
        endpoint = self.get_object()
        endpoint_id = endpoint.pk
        services.webhook_endpoint_delete(endpoint=endpoint)
        return ok({"id": endpoint_id})

    @extend_schema(
        summary="Rotate the signing secret",
        description="The new secret is in this response only; the previous one keeps signing alongside it for 24 h.",
        request=None,
        responses=WebhookEndpointWithSecretOutput,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint, secret = services.webhook_endpoint_rotate_secret(endpoint=self.get_object())
        output = WebhookEndpointWithSecretOutput(endpoint, context={"secret": secret}).data
        return ok(output)

    @extend_schema(summary="Send a ping event", request=None, responses={202: WebhookDeliveryOutput})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.webhook_endpoint_test(endpoint=self.get_object())
        return ok(WebhookDeliveryOutput(delivery).data, status=202)

    @extend_schema(
        summary="The event catalogue: every event an endpoint may subscribe to", responses=EventTypeOutput(many=True)
    )
    # Not paginated: without this the schema documented a page object (schemathesis, ST108).
    @action(detail=False, methods=["get"], pagination_class=None)
    def events(self, request):
        return ok(event_catalogue())


@extend_schema(tags=["integrations"])
class WebhookDeliveryViewSet(TenantScopedViewSet):
    default_roles = MANAGER_ROLES
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliveryOutput
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

    @extend_schema(
        summary="List deliveries, newest first",
        parameters=[DeliveryListQuery],
        responses=WebhookDeliveryPageOutput,
    )
    def list(self, request):
        query = DeliveryListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = selectors.webhook_delivery_filter(self.get_queryset(), **query.validated_data)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliveryOutput(page, many=True).data)

    @extend_schema(summary="Get a delivery with its payload", responses=WebhookDeliveryDetailOutput)
    def retrieve(self, request, pk=None):
        return ok(WebhookDeliveryDetailOutput(self.get_object()).data)

    @extend_schema(
        summary="Deliver again",
        description="Sends the same event (same webhook-id) again now, restarting its retry schedule.",
        request=None,
        responses={202: WebhookDeliveryOutput},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = services.webhook_delivery_redeliver(delivery=self.get_object())
        return ok(WebhookDeliveryOutput(delivery).data, status=202)


@extend_schema(
    tags=["integrations"],
    summary="Rotate the custom-function signing secret",
    description=(
        "The new secret is in this response only. For 24 h the previous one keeps signing too: "
        "custom function calls carry `X-Morpheus-Signature: sha256=<new>,sha256=<previous>`."
    ),
    request=None,
    responses=FunctionSecretOutput,
)
class FunctionSecretRotateView(TenantScopedAPIView):
    success_messages = {
        "post": "Function secret rotated successfully",
    }
    default_roles = MANAGER_ROLES

    def post(self, request):
        secret, until = services.function_secret_rotate(customer=request.user.customer, rotated_by=request.user)
        output = FunctionSecretOutput({"secret": secret, "previousSecretValidUntil": until}).data
        return ok(output)
