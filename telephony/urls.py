from rest_framework.routers import SimpleRouter

from .views import PhoneNumberViewSet
from .webhooks.urls import urlpatterns as webhook_urlpatterns

router = SimpleRouter(trailing_slash=False)
router.register("phone-numbers", PhoneNumberViewSet, basename="phone-number")

urlpatterns = [*router.urls, *webhook_urlpatterns]
