from django.urls import path
from rest_framework.routers import SimpleRouter

from .views.export import CallExportView
from .views.figures import AnalyticsViewSet

router = SimpleRouter(trailing_slash=False)
router.register("analytics", AnalyticsViewSet, basename="analytics")

urlpatterns = [
    path("calls/export.csv", CallExportView.as_view({"get": "export"}), name="calls-export"),
    *router.urls,
]
