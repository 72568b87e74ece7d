from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .error_views import not_found, server_error

api_v1 = [
    path("", views.IndexView.as_view(), name="api-index"),
    path("health", views.HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("accounts.urls")),
    path("", include("tenants.urls")),
    path("", include("agents.urls")),
    path("", include("telephony.urls")),
    path("", include("analytics.urls")),
    path("", include("calls.urls")),
    path("", include("campaigns.urls")),
    path("", include("voice_worker.urls")),
    path("", include("evaluations.urls")),
    path("", include("integrations.urls")),
    # Anything else under /api/v1 is the envelope's 404, never Django's HTML page;
    # [\s\S] (not ".") so a path with a newline or another control character matches too.
    re_path(r"^[\s\S]*\Z", views.api_not_found, name="api-not-found"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler404 = not_found
handler500 = server_error
