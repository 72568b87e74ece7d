from django.urls import path

from .views import CallStatusWebhook, InboundCallWebhook, TransferWebhook

urlpatterns = [
    path("webhooks/voice/inbound", InboundCallWebhook.as_view(), name="voice-inbound-webhook"),
    path("webhooks/voice/status", CallStatusWebhook.as_view(), name="voice-status-webhook"),
    path("webhooks/voice/transfer", TransferWebhook.as_view(), name="voice-transfer-webhook"),
]
