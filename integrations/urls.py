from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApiKeyViewSet, FunctionSecretRotateView, WebhookDeliveryViewSet, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("customers/me/function-secret/rotate", FunctionSecretRotateView.as_view(), name="function-secret-rotate"),
    *router.urls,
]
