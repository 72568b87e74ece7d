from django.urls import path
from rest_framework.routers import SimpleRouter

from .views.calls import CallViewSet
from .views.livekit_webhook import LiveKitWebhook
from .views.outbound import OutboundCallView

router = SimpleRouter(trailing_slash=False)
router.register("calls", CallViewSet, basename="call")

urlpatterns = [
    path("calls/outbound", OutboundCallView.as_view(), name="call-outbound"),
    *router.urls,
    path("webhooks/livekit", LiveKitWebhook.as_view(), name="livekit-webhook"),
]
