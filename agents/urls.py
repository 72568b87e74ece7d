from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AgentVersionViewSet, AgentViewSet, ProviderCatalogueView

router = SimpleRouter(trailing_slash=False)
router.register("agents", AgentViewSet, basename="agent")

urlpatterns = [
    path("providers", ProviderCatalogueView.as_view(), name="providers"),
    path(
        "agents/<int:agent_id>/versions",
        AgentVersionViewSet.as_view({"get": "list"}),
        name="agent-version-list",
    ),
    path(
        "agents/<int:agent_id>/versions/<int:number>",
        AgentVersionViewSet.as_view({"get": "retrieve"}),
        name="agent-version-detail",
    ),
    path(
        "agents/<int:agent_id>/versions/<int:number>/restore",
        AgentVersionViewSet.as_view({"post": "restore"}),
        name="agent-version-restore",
    ),
    *router.urls,
]
