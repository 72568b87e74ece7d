import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.tests.factories import AgentFactory
from morpheus.api.viewsets import TenantScopedViewSet
from testsupport.api import assert_error, assert_only_row, assert_success

pytestmark = [pytest.mark.django_db, pytest.mark.urls("morpheus.tests.urls")]

URL = "/api/v1/probe/probe-agents"


def test_it_lists_only_the_callers_tenant(alice_client, customer_a, customer_b):
    mine = AgentFactory(customer=customer_a, name="Mine")
    AgentFactory(customer=customer_b, name="Theirs")
    assert assert_only_row(alice_client.get(URL), "Agents retrieved successfully", "agents")["id"] == mine.id


def test_it_answers_another_tenants_object_with_404(alice_client, customer_b):
    theirs = AgentFactory(customer=customer_b)
    assert_error(alice_client.get(f"{URL}/{theirs.id}"), 404, f"Agent with ID {theirs.id} does not exist")


def test_it_answers_a_missing_object_with_the_same_404(alice_client):
    assert_error(alice_client.get(f"{URL}/999999"), 404, "Agent with ID 999999 does not exist")


def test_it_answers_a_malformed_id_with_404(alice_client):
    assert_error(alice_client.get(f"{URL}/abc"), 404, "Resource not found!!")


def test_it_refuses_roles_not_allowed_for_the_action(charlie_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    assert_error(charlie_client.get(f"{URL}/{agent.id}"), 403, "You do not have permission to access this resource")


def test_it_refuses_users_without_a_customer(platform_admin_client):
    assert_error(platform_admin_client.get(URL), 403, "Please complete onboarding to access this resource")


def test_it_refuses_a_suspended_customer_on_the_next_request(alice_client, customer_a):
    assert_success(alice_client.get(URL))
    customer_a.status = "suspended"
    customer_a.save()
    assert_error(alice_client.get(URL), 403, "Your organization's account is suspended")


def test_it_enforces_the_ip_allow_list(alice_client, customer_a):
    customer_a.allowed_ips = ["10.0.0.0/8"]
    customer_a.save()
    assert_error(alice_client.get(URL), 403, "Access from your IP address is not allowed for this organization")
    customer_a.allowed_ips = ["10.0.0.0/8", "127.0.0.1"]
    customer_a.save()
    assert_success(alice_client.get(URL))


def test_it_keeps_a_constant_query_count_as_rows_grow(alice_client, customer_a):
    AgentFactory.create_batch(2, customer=customer_a)
    with CaptureQueriesContext(connection) as few:
        assert_success(alice_client.get(URL))
    AgentFactory.create_batch(20, customer=customer_a)
    with CaptureQueriesContext(connection) as many:
        assert_success(alice_client.get(URL))
    assert len(many) == len(few)


def test_it_forbids_subclasses_from_overriding_the_scope():
    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Leaky(TenantScopedViewSet):
            def get_queryset(self):
                return None


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("page=0", ["page"]),
        ("page=abc", ["page"]),
        ("limit=0", ["limit"]),
        ("limit=101", ["limit"]),
        ("limit=ten&page=-1", ["limit", "page"]),
    ],
)
def test_it_rejects_bad_pagination(alice_client, query, fields):
    assert_error(alice_client.get(f"{URL}?{query}"), 400, "Validation failed", fields=fields)


def test_it_pages_through_results(alice_client, customer_a):
    agents = AgentFactory.create_batch(5, customer=customer_a)
    newest_first = [a.id for a in sorted(agents, key=lambda a: (a.created_at, a.id), reverse=True)]
    page2 = assert_success(alice_client.get(f"{URL}?page=2&limit=2"))
    assert [a["id"] for a in page2["agents"]] == newest_first[2:4]
    assert page2["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}
    beyond = assert_success(alice_client.get(f"{URL}?page=9&limit=2"))
    assert beyond["agents"] == [] and beyond["pagination"]["total"] == 5
    full = assert_success(alice_client.get(f"{URL}?limit=100"))
    assert full["pagination"] == {"page": 1, "limit": 100, "total": 5, "totalPages": 1}


def test_it_renders_datetimes_as_utc_milliseconds_with_z(alice_client, customer_a):
    AgentFactory(customer=customer_a)
    created_at = assert_success(alice_client.get(URL))["agents"][0]["createdAt"]
    assert len(created_at) == 24 and created_at.endswith("Z") and created_at[19] == "."
