from rest_framework.routers import SimpleRouter

from .views import CampaignViewSet, DoNotCallViewSet

router = SimpleRouter(trailing_slash=False)
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("dnc", DoNotCallViewSet, basename="dnc")

urlpatterns = router.urls
