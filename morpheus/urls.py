from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .error_views import server_error

api_v1 = [
    path("", views.index, name="api-index"),
    path("health", views.health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("accounts.urls")),
    path("", include("tenants.urls")),
    path("", include("agents.urls")),
    path("", include("telephony.urls")),
    path("", include("calls.urls")),
    path("", include("voice_worker.urls")),
    # Anything else under /api/v1 is the envelope's 404, never Django's HTML page.
    re_path(r"^.*$", views.api_not_found, name="api-not-found"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler500 = server_error
