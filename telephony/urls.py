from rest_framework.routers import SimpleRouter

from .views import PhoneNumberViewSet

router = SimpleRouter(trailing_slash=False)
router.register("phone-numbers", PhoneNumberViewSet, basename="phone-number")

urlpatterns = [*router.urls]
