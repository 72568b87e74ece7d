from rest_framework.routers import SimpleRouter

from .views.phone_numbers import PhoneNumberViewSet
from .views.sip_trunks import SipTrunkViewSet
from .webhooks.urls import urlpatterns as webhook_urlpatterns

router = SimpleRouter(trailing_slash=False)
router.register("phone-numbers", PhoneNumberViewSet, basename="phone-number")
router.register("sip-trunks", SipTrunkViewSet, basename="sip-trunk")

urlpatterns = [*router.urls, *webhook_urlpatterns]
