from django.urls import path
from rest_framework.routers import SimpleRouter

from .livekit_webhooks import LiveKitWebhook
from .views import CallViewSet

router = SimpleRouter(trailing_slash=False)
router.register("calls", CallViewSet, basename="call")

urlpatterns = [
    *router.urls,
    path("webhooks/livekit", LiveKitWebhook.as_view(), name="livekit-webhook"),
]
