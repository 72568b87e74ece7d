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

`ResourceMatrix` (below) is the per-resource test base: one declaration of a resource's
actions, who may send each and what they answer generates the roles x actions matrix,
the cross-tenant checks above and the constant-query-count test of its list.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.tests.factories import UserFactory
from morpheus.errors import FORBIDDEN_MESSAGE
from testsupport.api import assert_error, assert_success, client_for

JSON_METHODS = ("post", "put", "patch")
TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)
MANAGERS = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class Action:
    """One request of a resource: `on` the collection ("list") or one row ("detail",
    plus `suffix` for a sub-route such as "/rotate-secret"), and its success answer."""

    method: str
    on: str = "detail"
    payload: dict | None = None
    suffix: str = ""
    status: int = 200
    message: str | None = None


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

    def row_id(self, row: dict):
        """The id of a row of the list, to compare with `list_id` (a list without ids
        overrides both: agent versions are (agentId, number))."""
        return row["id"]

    def snapshot(self, obj) -> dict:
        """Everything stored for the object; it must be identical after bob's attempt."""
        return _stored(type(obj)._base_manager.get(pk=obj.pk))

    def tenant_rows(self, obj, customer) -> list[dict]:
        """Every row of the resource's model in the customer, to catch side effects."""
        rows = type(obj)._base_manager.filter(customer=customer).order_by("pk")
        return [_stored(row) for row in rows]

    def payload_of(self, name: str) -> dict | None:
        """The body of the action named `name`; override for one that names other rows."""
        return self.detail_actions()[name].payload

    # --- The matrix ----------------------------------------------------------------

    def detail_actions(self) -> dict[str, Action]:
        """The requests on one row, by name (here the method names of `detail_requests`)."""
        return {
            method: Action(method, payload=payload, status=self.owner_statuses[method])
            for method, payload in self.detail_requests.items()
        }

    def pytest_generate_tests(self, metafunc):
        # `method` names a detail action (the method itself for `detail_requests`).
        if "method" in metafunc.fixturenames:
            metafunc.parametrize("method", list(self.detail_actions()))

    def send(self, client, method: str, url: str):
        """Sends the detail action named `method` to `url` (a row's URL, without suffix)."""
        action = self.detail_actions()[method]
        return send(client, action, f"{url}{action.suffix}", self.payload_of(method))

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
        assert_success(response, self.detail_actions()[method].status)

    def test_lists_never_show_another_tenants_rows(self, alice_client, bob_client, alice, bob, customer_a, customer_b):
        if not self.list_key:
            pytest.skip("this resource has no list endpoint")
        mine = self.make_object(customer_a)
        theirs = self.make_object(customer_b)
        alice_ids = self.listed_ids(alice_client, customer_a)
        bob_ids = self.listed_ids(bob_client, customer_b)
        assert self.list_id(mine) in alice_ids and self.list_id(theirs) not in alice_ids
        assert self.list_id(theirs) in bob_ids and self.list_id(mine) not in bob_ids
        assert not set(alice_ids) & set(bob_ids)

    def list_path(self, customer) -> str:
        """The customer's list; override for a list nested under one of its rows."""
        return self.list_url

    def listed_ids(self, client, customer) -> list:
        data = assert_success(client.get(f"{self.list_path(customer)}?limit=100"), 200)
        assert data["pagination"]["total"] == len(data[self.list_key]), "the matrix expects one page"
        return [self.row_id(row) for row in data[self.list_key]]

    def missing_id(self, obj):
        """An id of the right type that no row has."""
        if isinstance(obj.pk, int):
            return type(obj)._base_manager.order_by("-pk").values_list("pk", flat=True).first() + 1000
        return uuid.uuid4()


def _stored(row) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def crud_actions(
    label: str,
    *,
    plural: str | None = None,
    create: dict | None = None,
    update: dict | None = None,
    delete: bool = True,
    created: str = "created",
    deleted: str = "deleted",
) -> dict[str, Action]:
    """The usual actions of a resource with the usual messages ("Agents retrieved
    successfully", "Agent created successfully", ...): list, retrieve, and create/update
    when given a payload, delete unless told not to. Add the resource's own actions to it."""
    actions = {"list": Action("get", on="list", message=f"{plural or label + 's'} retrieved successfully")}
    if create is not None:
        actions["create"] = Action(
            "post", on="list", payload=create, status=201, message=f"{label} {created} successfully"
        )
    actions["retrieve"] = Action("get", message=f"{label} retrieved successfully")
    if update is not None:
        actions["update"] = Action("patch", payload=update, message=f"{label} updated successfully")
    if delete:
        actions["delete"] = Action("delete", message=f"{label} {deleted} successfully")
    return actions


def send(client, action: Action, url: str, payload: dict | None = None):
    if action.method in JSON_METHODS:
        return getattr(client, action.method)(url, payload or {}, format="json")
    return getattr(client, action.method)(url)


class ResourceMatrix(CrossTenantMatrix):
    """The per-resource test base. Declare the resource once:

        class TestPhoneNumbersMatrix(ResourceMatrix):
            list_url = "/api/v1/phone-numbers"
            list_key = "phoneNumbers"
            not_found_label = "Phone number"
            actions = crud_actions(
                "Phone number", create={"phoneNumber": "+15559998888"}, created="added", update={"friendlyName": "Ops"}
            )
            roles = {"create": MANAGERS, "update": MANAGERS, "delete": MANAGERS}  # the rest: every role

            def make_object(self, customer):
                return PhoneNumberFactory(customer=customer)

    and pytest runs, for each tenant role (owner, admin, member) and each action, the
    request by a user of that role: allowed, it answers the action's status and message
    and its data shows the row (`check_data`); refused, it is the 403 and no row of the
    tenant changed. The detail actions go through the cross-tenant checks of
    `CrossTenantMatrix`, and the list must cost the same number of queries with
    `query_rows[0]` rows as with `query_rows[1]` (`make_row` may vary the rows so every
    relation the list shows is exercised).
    """

    actions: dict[str, Action] = {}
    # Who may send each action; an action not named here is open to every tenant role.
    roles: dict[str, tuple[str, ...]] = {}
    forbidden_message: str = FORBIDDEN_MESSAGE
    query_rows: tuple[int, int] = (2, 12)

    def detail_actions(self) -> dict[str, Action]:
        return {name: action for name, action in self.actions.items() if action.on == "detail"}

    def payload_of(self, name: str) -> dict | None:
        return self.actions[name].payload

    def make_row(self, customer, index: int):
        """One of the rows the query-count test lists; vary them to cover every relation."""
        return self.make_object(customer)

    def check_data(self, name: str, data, obj, customer) -> None:
        """What an allowed action's data must show; extend for a resource's specifics."""
        action = self.actions[name]
        if action.on == "list" and action.method == "get":
            assert self.list_id(obj) in [self.row_id(row) for row in data[self.list_key]], data
        elif action.on == "list":  # a create: the new row is the caller's tenant's
            assert type(obj)._base_manager.filter(pk=data["id"], customer=customer).exists(), data
        elif not action.suffix and isinstance(data, dict) and "id" in data:  # the row itself
            assert data["id"] == self.list_id(obj), data

    # --- The generated tests ---------------------------------------------------------

    def pytest_generate_tests(self, metafunc):
        super().pytest_generate_tests(metafunc)
        if "role" in metafunc.fixturenames and "action" in metafunc.fixturenames:
            pairs = [(role, name) for name in self.actions for role in TENANT_ROLES]
            metafunc.parametrize(("role", "action"), pairs, ids=[f"{role}-{name}" for role, name in pairs])

    def allowed(self, role: str, name: str) -> bool:
        return role in self.roles.get(name, TENANT_ROLES)

    def url_of(self, action: Action, obj, customer) -> str:
        base = self.list_path(customer) if action.on == "list" else self.detail_url(obj)
        return f"{base}{action.suffix}"

    def test_each_role_may_send_exactly_its_actions(self, role, action, alice, charlie, customer_a):
        user = {Role.OWNER: alice, Role.MEMBER: charlie}.get(role) or UserFactory(customer=customer_a, role=role)
        obj = self.make_object(customer_a)
        rows_before = self.tenant_rows(obj, customer_a)
        expected = self.actions[action]
        response = send(client_for(user), expected, self.url_of(expected, obj, customer_a), self.payload_of(action))
        if self.allowed(role, action):
            data = assert_success(response, expected.status, expected.message)
            self.check_data(action, data, obj, customer_a)
        else:
            assert_error(response, 403, self.forbidden_message)
            assert self.tenant_rows(obj, customer_a) == rows_before

    def test_the_list_costs_the_same_queries_as_it_grows(self, alice_client, alice, customer_a):
        listing = next((a for a in self.actions.values() if a.on == "list" and a.method == "get"), None)
        if listing is None:
            pytest.skip("this resource has no list endpoint")
        few, many = self.query_rows
        rows = [self.make_row(customer_a, index) for index in range(few)]
        with CaptureQueriesContext(connection) as small:
            assert_success(alice_client.get(f"{self.list_path(customer_a)}?limit=100"), 200, listing.message)
        rows += [self.make_row(customer_a, index) for index in range(few, many)]
        with CaptureQueriesContext(connection) as large:
            data = assert_success(alice_client.get(f"{self.list_path(customer_a)}?limit=100"), 200, listing.message)
        listed = [self.row_id(row) for row in data[self.list_key]]
        assert set(listed) >= {self.list_id(row) for row in rows} and data["pagination"]["total"] == len(listed)
        assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
