"""OpenAPI documentation of /api-keys, /webhook-endpoints and /webhook-deliveries, kept out of the views."""

from drf_spectacular.utils import extend_schema

from morpheus.api.schema import resource_views

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
)

TAG = "integrations"


api_key = resource_views(TAG, globals(), "api_key_")
webhook_endpoint = resource_views(TAG, globals(), "webhook_endpoint_")
webhook_delivery = resource_views(TAG, globals(), "webhook_delivery_")

api_key_list = extend_schema(summary="List API keys (revoked ones included)", responses=ApiKeyPageOutput)

api_key_create = extend_schema(
    summary="Create an API key",
    description="The full key is in this response only; it is stored hashed and can never be read again.",
    request=ApiKeyCreateInput,
    responses={201: ApiKeyCreatedOutput},
)

api_key_retrieve = extend_schema(summary="Get an API key", responses=ApiKeyOutput)

api_key_destroy = extend_schema(summary="Revoke an API key (at once)", responses=ApiKeyOutput)

webhook_endpoint_list = extend_schema(summary="List webhook endpoints", responses=WebhookEndpointPageOutput)

webhook_endpoint_create = extend_schema(
    summary="Create a webhook endpoint",
    description="The signing secret (`whsec_…`) is in this response only.",
    request=WebhookEndpointCreateInput,
    responses={201: WebhookEndpointWithSecretOutput},
)

webhook_endpoint_retrieve = extend_schema(summary="Get a webhook endpoint", responses=WebhookEndpointOutput)

webhook_endpoint_partial_update = extend_schema(
    summary="Update a webhook endpoint", request=WebhookEndpointUpdateInput, responses=WebhookEndpointOutput
)

webhook_endpoint_destroy = extend_schema(summary="Delete a webhook endpoint (and its deliveries)", responses=None)

webhook_endpoint_rotate_secret = extend_schema(
    summary="Rotate the signing secret",
    description="The new secret is in this response only; the previous one keeps signing alongside it for 24 h.",
    request=None,
    responses=WebhookEndpointWithSecretOutput,
)

webhook_endpoint_test = extend_schema(summary="Send a ping event", request=None, responses={202: WebhookDeliveryOutput})

webhook_endpoint_events = extend_schema(
    summary="The event catalogue: every event an endpoint may subscribe to", responses=EventTypeOutput(many=True)
)

webhook_delivery_list = extend_schema(
    summary="List deliveries, newest first",
    parameters=[DeliveryListQuery],
    responses=WebhookDeliveryPageOutput,
)

webhook_delivery_retrieve = extend_schema(
    summary="Get a delivery with its payload", responses=WebhookDeliveryDetailOutput
)

webhook_delivery_redeliver = extend_schema(
    summary="Deliver again",
    description="Sends the same event (same webhook-id) again now, restarting its retry schedule.",
    request=None,
    responses={202: WebhookDeliveryOutput},
)

function_secret_rotate = extend_schema(
    tags=[TAG],
    summary="Rotate the custom-function signing secret",
    description=(
        "The new secret is in this response only. For 24 h the previous one keeps signing too: "
        "custom function calls carry `X-Morpheus-Signature: sha256=<new>,sha256=<previous>`."
    ),
    request=None,
    responses=FunctionSecretOutput,
)
