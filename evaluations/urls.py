from django.urls import path

from .views import AgentTestCaseViewSet, AgentTestRunViewSet, TestCaseViewSet, TestRunViewSet

urlpatterns = [
    path(
        "agents/<int:agent_id>/test-cases",
        AgentTestCaseViewSet.as_view({"get": "list", "post": "create"}),
        name="agent-test-case-list",
    ),
    path(
        "test-cases/<int:pk>",
        TestCaseViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="test-case-detail",
    ),
    path(
        "agents/<int:agent_id>/test-runs",
        AgentTestRunViewSet.as_view({"get": "list", "post": "create"}),
        name="agent-test-run-list",
    ),
    path("test-runs/<int:pk>", TestRunViewSet.as_view({"get": "retrieve"}), name="test-run-detail"),
]
