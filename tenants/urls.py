from django.urls import path
from rest_framework.routers import SimpleRouter

from .api.customers import CustomerMeView, OnboardView
from .api.platform import PlatformCustomerViewSet, SystemHealthView
from .api.team import TeamUserViewSet

router = SimpleRouter(trailing_slash=False)
router.register("users", TeamUserViewSet, basename="team-user")
router.register("admin/customers", PlatformCustomerViewSet, basename="platform-customer")

urlpatterns = [
    path("customers/onboard", OnboardView.as_view(), name="customer-onboard"),
    path("customers/me", CustomerMeView.as_view(), name="customer-me"),
    path("admin/system/health", SystemHealthView.as_view(), name="system-health"),
    *router.urls,
]
