from django.urls import path
from rest_framework.routers import SimpleRouter

from .views.customers import CustomerMeView, OnboardView
from .views.platform import PlatformCustomerViewSet, SystemHealthView
from .views.provider_keys import ElevenLabsVoicesView, ProviderKeysView, ProviderKeyView
from .views.team import TeamUserViewSet

router = SimpleRouter(trailing_slash=False)
router.register("users", TeamUserViewSet, basename="team-user")
router.register("admin/customers", PlatformCustomerViewSet, basename="platform-customer")

urlpatterns = [
    path("customers/onboard", OnboardView.as_view(), name="customer-onboard"),
    path("customers/me", CustomerMeView.as_view(), name="customer-me"),
    path("customers/me/provider-credentials", ProviderKeysView.as_view(), name="provider-keys"),
    path("customers/me/provider-credentials/<str:vendor>", ProviderKeyView.as_view(), name="provider-key"),
    path("providers/elevenlabs/voices", ElevenLabsVoicesView.as_view(), name="elevenlabs-voices"),
    path("admin/system/health", SystemHealthView.as_view(), name="system-health"),
    *router.urls,
]
