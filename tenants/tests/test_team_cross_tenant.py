"""/users through the cross-tenant matrix: bob (owner of B) against alice's team (A)."""

import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory

from .cross_tenant import CrossTenantMatrix

pytestmark = pytest.mark.django_db


class TestTeamUsersCrossTenant(CrossTenantMatrix):
    list_url = "/api/v1/users"
    list_key = "users"
    not_found_label = "User"
    detail_requests = {"get": None, "patch": {"role": "admin"}, "delete": None}

    def make_object(self, customer):
        return UserFactory(customer=customer, role=Role.MEMBER)
