from rest_framework.routers import SimpleRouter

from .webhooks.urls import urlpatterns as webhook_urlpatterns

router = SimpleRouter(trailing_slash=False)

urlpatterns = [*router.urls, *webhook_urlpatterns]
