from rest_framework.routers import SimpleRouter

from .views import CallMessagesViewSet

router = SimpleRouter(trailing_slash=False)
router.register("calls", CallMessagesViewSet, basename="call-messages")

urlpatterns = [*router.urls]
