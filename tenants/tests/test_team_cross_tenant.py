"""/users through the resource matrix: every role against alice's team (A), and bob
(owner of B) against it."""

import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory

from .cross_tenant import MANAGERS, Action, ResourceMatrix

pytestmark = pytest.mark.django_db


class TestTeamUsersMatrix(ResourceMatrix):
    list_url = "/api/v1/users"
    list_key = "users"
    not_found_label = "User"
    actions = {
        "list": Action("get", on="list", message="Users retrieved successfully"),
        "invite": Action(
            "post", on="list", payload={"email": "later@example.com"}, status=201, message="User invited successfully"
        ),
        "retrieve": Action("get", message="User retrieved successfully"),
        "change role": Action("patch", payload={"role": "admin"}, message="User role updated successfully"),
        "remove": Action("delete", message="User removed successfully"),
    }
    # Everyone sees the team; managers invite, change roles and remove (the finer rules
    # between owners and admins are in test_team_roles and test_team_remove).
    roles = {"invite": MANAGERS, "change role": MANAGERS, "remove": MANAGERS}

    def make_object(self, customer):
        return UserFactory(customer=customer, role=Role.MEMBER)

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "change role":
            assert data["role"] == "admin"
        if name == "remove":
            obj.refresh_from_db()
            assert obj.deleted_at is not None
