"""A tiny API used only by the foundation's tests: one tenant-scoped list/detail
over Agent, and views that raise each kind of error."""

from django.urls import include, path
from rest_framework import mixins, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from agents.models import Agent
from morpheus.api.exceptions import Conflict, ServiceUnavailable
from morpheus.api.responses import created
from morpheus.api.viewsets import TenantScopedViewSet
from morpheus.urls import urlpatterns as real_urlpatterns


class ProbeAgentSerializer(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Agent
        fields = ["id", "name", "createdAt"]


class ProbeAgentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Agent.objects.all()
    serializer_class = ProbeAgentSerializer
    list_key = "agents"
    success_messages = {"list": "Agents retrieved successfully", "retrieve": "Agent retrieved successfully"}
    action_roles = {"retrieve": ("owner", "admin")}


class NestedInput(serializers.Serializer):
    theme = serializers.ChoiceField(choices=["dark", "light"])


class FunctionInput(serializers.Serializer):
    name = serializers.CharField(max_length=5)


class ProbeInput(serializers.Serializer):
    email = serializers.EmailField()
    companyName = serializers.CharField()
    settings = NestedInput(required=False)
    functions = FunctionInput(many=True, required=False)


class ValidateView(APIView):
    permission_classes = [AllowAny]
    success_messages = {"post": "Created"}

    def post(self, request):
        ProbeInput(data=request.data).is_valid(raise_exception=True)
        return created({"ok": True})


@api_view(["GET"])
@permission_classes([AllowAny])
def boom_view(request):
    raise RuntimeError("secret internal detail")


@api_view(["GET"])
@permission_classes([AllowAny])
def conflict_view(request):
    raise Conflict("Email already registered")


@api_view(["GET"])
@permission_classes([AllowAny])
def unavailable_view(request):
    raise ServiceUnavailable("LiveKit is not available")


class OnePerMinute(AnonRateThrottle):
    rate = "1/min"
    scope = "probe"


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OnePerMinute]
    success_messages = {"get": "ok"}

    def get(self, request):
        return created(None)


router = SimpleRouter(trailing_slash=False)
router.register("probe-agents", ProbeAgentViewSet, basename="probe-agent")

probe = [
    path("validate", ValidateView.as_view()),
    path("boom", boom_view),
    path("conflict", conflict_view),
    path("unavailable", unavailable_view),
    path("throttled", ThrottledView.as_view()),
    *router.urls,
]

urlpatterns = [path("api/v1/probe/", include(probe)), *real_urlpatterns]
handler500 = "morpheus.errors.server_error"
