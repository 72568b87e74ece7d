from rest_framework.routers import SimpleRouter

from .views import CallViewSet

router = SimpleRouter(trailing_slash=False)
router.register("calls", CallViewSet, basename="call")

urlpatterns = [*router.urls]
