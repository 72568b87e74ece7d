from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AgentViewSet, ProviderCatalogueView

router = SimpleRouter(trailing_slash=False)
router.register("agents", AgentViewSet, basename="agent")

urlpatterns = [
    path("providers", ProviderCatalogueView.as_view(), name="providers"),
    *router.urls,
]
