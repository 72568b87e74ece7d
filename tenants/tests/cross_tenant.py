"""The cross-tenant test matrix every tenant-owned endpoint extends (DESIGN.md, Tenancy).

Subclass `CrossTenantMatrix` in a test module (the subclass name starts with `Test`)
and describe the resource; pytest then runs every check below for it:

    from tenants.tests.cross_tenant import CrossTenantMatrix

    class TestAgentsCrossTenant(CrossTenantMatrix):
        list_url = "/api/v1/agents"
        list_key = "agents"
        not_found_label = "Agent"
        detail_requests = {"get": None, "patch": {"name": "Renamed"}, "delete": None}

        def make_object(self, customer):
            return AgentFactory(customer=customer)

The attacker is bob, the owner of customer B (the strongest tenant role, so a 403 for
the role can never hide a missing tenant check); the victim is customer A (alice's).
For each request in `detail_requests`, bob gets the same 404 as for an id that does
not exist and A's rows are unchanged. Lists never show another tenant's rows. The
same requests sent by alice must succeed: a positive control, so the matrix cannot
pass because of a wrong URL or a payload the endpoint would refuse anyway.
"""

import uuid

import pytest

from testsupport.api import assert_error, assert_success

JSON_METHODS = ("post", "put", "patch")


class CrossTenantMatrix:
    list_url: str = ""
    # The key of the list in the page payload ("agents"); None when there is no list.
    list_key: str | None = None
    # e.g. "Agent" -> "Agent with ID 5 does not exist"
    not_found_label: str = ""
    # {method: payload or None} for the detail URL. Payloads must be valid for the owner.
    detail_requests: dict = {}
    # The status alice gets for each method (the positive control).
    owner_statuses: dict = {"get": 200, "put": 200, "patch": 200, "delete": 200, "post": 200}

    # --- What a subclass describes ------------------------------------------------

    def make_object(self, customer):
        raise NotImplementedError("CrossTenantMatrix subclasses create one object of the resource here")

    def detail_url(self, obj) -> str:
        return f"{self.list_url}/{obj.pk}"

    def list_id(self, obj):
        """The object's id as the list shows it."""
        return str(obj.pk) if not isinstance(obj.pk, int) else obj.pk

    def snapshot(self, obj) -> dict:
        """Everything stored for the object; it must be identical after bob's attempt."""
        return _stored(type(obj)._base_manager.get(pk=obj.pk))

    def tenant_rows(self, obj, customer) -> list[dict]:
        """Every row of the resource's model in the customer, to catch side effects."""
        rows = type(obj)._base_manager.filter(customer=customer).order_by("pk")
        return [_stored(row) for row in rows]

    # --- The matrix ----------------------------------------------------------------

    def pytest_generate_tests(self, metafunc):
        if "method" in metafunc.fixturenames:
            metafunc.parametrize("method", list(self.detail_requests))

    def send(self, client, method: str, url: str):
        payload = self.detail_requests.get(method)
        if method in JSON_METHODS:
            return getattr(client, method)(url, payload or {}, format="json")
        return getattr(client, method)(url)

    def test_it_answers_another_tenants_object_with_404(self, method, bob_client, alice, customer_a):
        victim = self.make_object(customer_a)
        before = self.snapshot(victim)
        rows_before = self.tenant_rows(victim, customer_a)
        response = self.send(bob_client, method, self.detail_url(victim))
        assert_error(response, 404, f"{self.not_found_label} with ID {victim.pk} does not exist")
        assert self.snapshot(victim) == before
        assert self.tenant_rows(victim, customer_a) == rows_before

    def test_an_unknown_id_gets_the_same_404(self, method, bob_client, alice, customer_a):
        victim = self.make_object(customer_a)
        url = self.detail_url(victim)
        missing = self.missing_id(victim)
        # Replace the id itself (the last occurrence): "/api/v1/agents/1" also has a "1" in "v1".
        head, _, tail = url.rpartition(str(victim.pk))
        response = self.send(bob_client, method, f"{head}{missing}{tail}")
        assert_error(response, 404, f"{self.not_found_label} with ID {missing} does not exist")

    def test_the_owning_tenant_can_send_the_same_request(self, method, alice_client, customer_a):
        obj = self.make_object(customer_a)
        response = self.send(alice_client, method, self.detail_url(obj))
        assert_success(response, self.owner_statuses[method])

    def test_lists_never_show_another_tenants_rows(self, alice_client, bob_client, alice, bob, customer_a, customer_b):
        if not self.list_key:
            pytest.skip("this resource has no list endpoint")
        mine = self.make_object(customer_a)
        theirs = self.make_object(customer_b)
        alice_ids = self.listed_ids(alice_client)
        bob_ids = self.listed_ids(bob_client)
        assert self.list_id(mine) in alice_ids and self.list_id(theirs) not in alice_ids
        assert self.list_id(theirs) in bob_ids and self.list_id(mine) not in bob_ids
        assert not set(alice_ids) & set(bob_ids)

    def listed_ids(self, client) -> list:
        data = assert_success(client.get(f"{self.list_url}?limit=100"), 200)
        assert data["pagination"]["total"] == len(data[self.list_key]), "the matrix expects one page"
        return [row["id"] for row in data[self.list_key]]

    def missing_id(self, obj):
        """An id of the right type that no row has."""
        if isinstance(obj.pk, int):
            return type(obj)._base_manager.order_by("-pk").values_list("pk", flat=True).first() + 1000
        return uuid.uuid4()


def _stored(row) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}
