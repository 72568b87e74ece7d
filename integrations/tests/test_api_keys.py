"""API keys: the /api-keys endpoints, and keys on the JWT's authentication path: the
scope × endpoint × method matrix, cross-tenant, agent-restricted keys, and every way a
key is refused."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role, UserStatus
from agents.models import Agent
from agents.tests.factories import AgentFactory
from calls.tests.factories import CallFactory
from integrations import keys
from integrations.models import ApiKey
from tenants.models import CustomerStatus
from tenants.tests.cross_tenant import MANAGERS, ResourceMatrix, crud_actions
from testsupport.api import assert_error, assert_success, client_for

from .factories import make_api_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/api-keys"
FORBIDDEN = "You do not have permission to access this resource"
SCOPE = "This API key does not have the scope required for this request"
NOT_FOR_KEYS = "API keys cannot be used on this endpoint"
RESTRICTED = "This API key is restricted to agents and their calls"


def key_client(plaintext, header="bearer"):
    client = client_for(None)
    if header == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    else:
        client.credentials(HTTP_X_API_KEY=plaintext)
    return client


# --- /api-keys ---------------------------------------------------------------------------------


def test_an_owner_creates_a_key_and_sees_it_once(alice_client, alice, customer_a):
    agent = AgentFactory(customer=customer_a)
    expires = (timezone.now() + datetime.timedelta(days=30)).isoformat()
    body = {"name": "CRM sync", "scopes": ["read", "calls:write"], "agentIds": [agent.id], "expiresAt": expires}
    data = assert_success(alice_client.post(URL, body, format="json"), 201, "API key created successfully")
    api_key = ApiKey.objects.get()
    assert data["key"].startswith(f"mk_live_{api_key.key_id}_") and data["prefix"] == f"mk_live_{api_key.key_id}"
    assert data["name"] == "CRM sync" and data["scopes"] == ["calls:write", "read"] and data["agentIds"] == [agent.id]
    assert data["createdBy"] == {"id": str(alice.id), "name": "Alice", "email": "alice@example.com"}
    assert data["lastUsedAt"] is None and data["revokedAt"] is None and data["revokedBy"] is None
    assert data["expiresAt"].endswith("Z")
    # Only a hash is stored: the key cannot be read back.
    key_id, secret = keys.parse(data["key"])
    assert key_id == api_key.key_id
    assert api_key.secret_hash == keys.hash_secret(secret) and secret not in str(ApiKey.objects.values().get())
    listed = assert_success(alice_client.get(URL), 200, "API keys retrieved successfully")["apiKeys"]
    assert [row["id"] for row in listed] == [api_key.id] and "key" not in listed[0]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "k", "scopes": ["root"]}, "scopes"),
        ({"name": "k", "scopes": ["read"], "expiresAt": "2000-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": "k", "scopes": ["read"], "agentIds": [987654]}, "agentIds"),
        ({"scopes": ["read"]}, "name"),
    ],
)
def test_bad_input_creates_no_key(alice_client, body, field):
    assert_error(alice_client.post(URL, body, format="json"), 400, fields=[field])
    assert not ApiKey.objects.exists()


class TestApiKeysMatrix(ResourceMatrix):
    list_url = URL
    list_key = "apiKeys"
    not_found_label = "API key"
    actions = crud_actions("API key", create={"name": "k", "scopes": ["read"]}, deleted="revoked")
    roles = dict.fromkeys(actions, MANAGERS)

    def make_object(self, customer):
        return make_api_key(customer, customer.created_by)[0]

    def make_row(self, customer, index):
        # Revoked keys too: the list shows who revoked them.
        api_key = self.make_object(customer)
        if index % 2:
            from integrations import services

            services.api_key_revoke(api_key=api_key, actor=customer.created_by)
        return api_key

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "delete":
            assert data["revokedAt"] is not None


def test_revoking_refuses_the_key_at_once_and_records_who(alice_client, alice, customer_a):
    api_key, plaintext = make_api_key(customer_a, alice)
    client = key_client(plaintext)
    assert_success(client.get("/api/v1/agents"), 200)
    data = assert_success(alice_client.delete(f"{URL}/{api_key.id}"), 200, "API key revoked successfully")
    assert data["revokedAt"] is not None
    assert data["revokedBy"] == {"id": str(alice.id), "name": "Alice", "email": "alice@example.com"}
    api_key.refresh_from_db()
    assert api_key.revoked_by == alice and api_key.created_by == alice
    assert_error(client.get("/api/v1/agents"), 401, "API key has been revoked")


def test_another_tenants_key_is_a_404(alice_client, bob, customer_b):
    theirs, _ = make_api_key(customer_b, bob)
    assert_error(alice_client.delete(f"{URL}/{theirs.id}"), 404, f"API key with ID {theirs.id} does not exist")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert assert_success(alice_client.get(URL), 200)["apiKeys"] == []


# --- Authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_key_authenticates_like_a_jwt(alice, customer_a, customer_b, header):
    mine, theirs = AgentFactory(customer=customer_a), AgentFactory(customer=customer_b)
    _, plaintext = make_api_key(customer_a, alice, scopes=["read"])
    client = key_client(plaintext, header)
    listed = assert_success(client.get("/api/v1/agents"), 200)["agents"]
    assert [row["id"] for row in listed] == [mine.id]
    assert_error(client.get(f"/api/v1/agents/{theirs.id}"), 404, f"Agent with ID {theirs.id} does not exist")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("mk_live_nothex_abc", "Invalid API key"),
        ("mk_live_0123456789abcdef_" + "x" * 43, "Invalid API key"),
        ("mk_live_", "Invalid API key"),
    ],
)
def test_malformed_and_unknown_keys_are_401(alice, customer_a, raw, message):
    make_api_key(customer_a, alice)
    assert_error(key_client(raw).get("/api/v1/agents"), 401, message)
    assert_error(key_client(raw, "x-api-key").get("/api/v1/agents"), 401, message)


def test_a_wrong_secret_for_a_real_key_id_is_401(alice, customer_a):
    api_key, plaintext = make_api_key(customer_a, alice)
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    assert_error(key_client(forged).get("/api/v1/agents"), 401, "Invalid API key")


def test_an_expired_key_is_401(alice, customer_a):
    api_key, plaintext = make_api_key(customer_a, alice)
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert_error(key_client(plaintext).get("/api/v1/agents"), 401, "API key has expired")


def test_a_suspended_customers_key_is_403_and_changes_nothing(alice, customer_a):
    _, plaintext = make_api_key(customer_a, alice)
    customer_a.status = CustomerStatus.SUSPENDED
    customer_a.save()
    client = key_client(plaintext)
    assert_error(client.get("/api/v1/agents"), 403, "Your organization's account is suspended")
    assert_error(client.post("/api/v1/agents", {"name": "x"}, format="json"), 403)
    assert not Agent.objects.exists()


def test_a_key_from_outside_the_allow_list_is_403(alice, customer_a):
    _, plaintext = make_api_key(customer_a, alice)
    customer_a.allowed_ips = ["10.0.0.0/8"]
    customer_a.save()
    client = key_client(plaintext)
    refused = "Access from your IP address is not allowed for this organization"
    assert_error(client.get("/api/v1/agents", REMOTE_ADDR="203.0.113.9"), 403, refused)
    assert_success(client.get("/api/v1/agents", REMOTE_ADDR="10.1.2.3"), 200)


def test_a_key_stops_when_its_creator_leaves_or_is_suspended(alice, charlie, customer_a):
    charlie.role = Role.ADMIN
    charlie.save()
    _, plaintext = make_api_key(customer_a, charlie)
    client = key_client(plaintext)
    assert_success(client.get("/api/v1/agents"), 200)
    charlie.status = UserStatus.SUSPENDED
    charlie.save()
    assert_error(client.get("/api/v1/agents"), 401)
    charlie.status = UserStatus.ACTIVE
    charlie.deleted_at = timezone.now()
    charlie.save()
    assert_error(client.get("/api/v1/agents"), 401)


def test_last_used_is_written_at_most_once_a_minute(alice, customer_a, django_assert_num_queries):
    api_key, plaintext = make_api_key(customer_a, alice)
    client = key_client(plaintext)
    assert_success(client.get("/api/v1/agents"), 200)
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    assert_success(client.get("/api/v1/agents"), 200)
    api_key.refresh_from_db()
    assert api_key.last_used_at == first
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - datetime.timedelta(seconds=61))
    assert_success(client.get("/api/v1/agents"), 200)
    api_key.refresh_from_db()
    assert api_key.last_used_at > first


def test_each_key_has_its_own_rate_limit(alice, customer_a, rates):
    rates(api_key="2/min")
    _, one = make_api_key(customer_a, alice)
    _, two = make_api_key(customer_a, alice)
    for _ in range(2):
        assert_success(key_client(one).get("/api/v1/agents"), 200)
    response = key_client(one).get("/api/v1/agents")
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0
    assert_success(key_client(two).get("/api/v1/agents"), 200)  # another key, its own budget
    assert_success(client_for(alice).get("/api/v1/agents"), 200)  # JWTs are not counted


# --- The matrix: scope × endpoint × method -------------------------------------------------

# (method, path, body). Write bodies are invalid on purpose: a key that gets through is
# answered 400 by the view itself, which proves the key passed and changes nothing.
REQUESTS = {
    "agents.get": ("get", "/api/v1/agents", None),
    "agents.post": ("post", "/api/v1/agents", {}),
    "providers.get": ("get", "/api/v1/providers", None),
    "calls.get": ("get", "/api/v1/calls", None),
    "analytics.get": ("get", "/api/v1/analytics/calls", None),
    "phone-numbers.get": ("get", "/api/v1/phone-numbers", None),
    "phone-numbers.post": ("post", "/api/v1/phone-numbers", {}),
    "webhook-endpoints.get": ("get", "/api/v1/webhook-endpoints", None),
    "webhook-endpoints.post": ("post", "/api/v1/webhook-endpoints", {}),
    "webhook-deliveries.get": ("get", "/api/v1/webhook-deliveries", None),
    "customers-me.get": ("get", "/api/v1/customers/me", None),
    "customers-me.patch": ("patch", "/api/v1/customers/me", {"companyName": ""}),
    "users.get": ("get", "/api/v1/users", None),
    "users.post": ("post", "/api/v1/users", {}),
    "api-keys.get": ("get", "/api/v1/api-keys", None),
    "api-keys.post": ("post", "/api/v1/api-keys", {}),
    "admin.get": ("get", "/api/v1/admin/customers", None),
    "auth-profile.get": ("get", "/api/v1/auth/profile", None),
}
OK = {"get": 200, "post": 400, "patch": 400}

# What each key may do: the request names it lets through. Everything else is refused.
MATRIX = {
    ("read",): {
        "agents.get",
        "providers.get",
        "calls.get",
        "analytics.get",
        "phone-numbers.get",
        "webhook-endpoints.get",
        "webhook-deliveries.get",
    },
    ("write",): {
        "agents.get",
        "agents.post",
        "providers.get",
        "calls.get",
        "analytics.get",
        "phone-numbers.get",
        "phone-numbers.post",
        "webhook-endpoints.get",
        "webhook-endpoints.post",
        "webhook-deliveries.get",
    },
    ("calls:read",): {"calls.get", "analytics.get"},
    ("agents:write",): {"agents.get", "agents.post", "providers.get"},
    ("customer:read",): {"customers-me.get"},
    ("customer:write",): {"customers-me.get", "customers-me.patch"},
    ("users:read",): {"users.get"},
    ("users:write",): {"users.get", "users.post"},
    ("api-keys:write",): {"api-keys.get", "api-keys.post"},
}


@pytest.mark.parametrize("scopes", list(MATRIX), ids=lambda s: "+".join(s))
@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_scope_matrix(alice, customer_a, scopes, name):
    _, plaintext = make_api_key(customer_a, alice, scopes=scopes)
    method, path, body = REQUESTS[name]
    client = key_client(plaintext)
    before = (Agent.objects.count(), ApiKey.objects.count(), customer_a.users.count())
    response = getattr(client, method)(path, body, format="json") if body is not None else client.get(path)
    if name in MATRIX[scopes]:
        assert response.status_code == OK[method], (response.status_code, response.json())
        assert response.json()["success"] is (method == "get")
    else:
        message = NOT_FOR_KEYS if name in ("admin.get", "auth-profile.get") else SCOPE
        assert_error(response, 403, message)
    assert (Agent.objects.count(), ApiKey.objects.count(), customer_a.users.count()) == before


def test_a_write_key_can_create_and_a_read_key_cannot(alice, customer_a):
    _, read = make_api_key(customer_a, alice, scopes=["read"])
    _, write = make_api_key(customer_a, alice, scopes=["write"])
    body = {"url": "https://hooks.example.com/x", "events": ["call.ended"]}
    assert_error(key_client(read).post("/api/v1/webhook-endpoints", body, format="json"), 403, SCOPE)
    data = assert_success(key_client(write).post("/api/v1/webhook-endpoints", body, format="json"), 201)
    assert data["url"] == body["url"]


def test_a_key_never_exceeds_its_creators_role(alice, charlie, customer_a):
    """A manager's key demoted to member acts as a member: phone numbers are managers' writes."""
    charlie.role = Role.ADMIN
    charlie.save()
    _, plaintext = make_api_key(customer_a, charlie, scopes=["write"])
    charlie.role = Role.MEMBER
    charlie.save()
    assert_error(key_client(plaintext).post("/api/v1/webhook-endpoints", {}, format="json"), 403, FORBIDDEN)


# --- Agent-restricted keys ---------------------------------------------------------------------


@pytest.fixture
def restricted(alice, customer_a):
    mine, other = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    _, plaintext = make_api_key(customer_a, alice, scopes=["write"], agent_ids=[mine.id])
    return key_client(plaintext), mine, other


def test_a_restricted_key_sees_only_its_agents(restricted):
    client, mine, other = restricted
    listed = assert_success(client.get("/api/v1/agents"), 200)["agents"]
    assert [row["id"] for row in listed] == [mine.id]
    assert_success(client.get(f"/api/v1/agents/{mine.id}"), 200)
    assert_error(client.get(f"/api/v1/agents/{other.id}"), 404, f"Agent with ID {other.id} does not exist")
    assert_success(client.patch(f"/api/v1/agents/{mine.id}", {"name": "Renamed"}, format="json"), 200)
    response = client.patch(f"/api/v1/agents/{other.id}", {"name": "Renamed"}, format="json")
    assert_error(response, 404)
    other.refresh_from_db()
    assert other.name != "Renamed"


def test_a_restricted_key_sees_only_its_agents_calls(restricted, customer_a):
    client, mine, other = restricted
    my_call, other_call = CallFactory(agent=mine), CallFactory(agent=other)
    page = assert_success(client.get("/api/v1/calls"), 200)
    assert [row["id"] for row in page["calls"]] == [my_call.id]
    assert page["pagination"]["total"] == 1  # the other agent's call is not counted either
    assert_success(client.get(f"/api/v1/calls/{my_call.id}"), 200)
    assert_error(client.get(f"/api/v1/calls/{other_call.id}"), 404, f"Call with ID {other_call.id} does not exist")
    assert_error(client.post(f"/api/v1/calls/{other_call.id}/end"), 404)
    filtered = assert_success(client.get(f"/api/v1/calls?agentId={other.id}"), 200)["calls"]
    assert filtered == []


def test_a_restricted_key_cannot_reach_beyond_its_agents(restricted):
    client, mine, _ = restricted
    assert_error(client.post("/api/v1/agents", {"name": "New"}, format="json"), 403, RESTRICTED)
    assert_error(client.post("/api/v1/calls/simulate", {"agentId": mine.id}, format="json"), 403, RESTRICTED)
    assert_error(client.get("/api/v1/phone-numbers"), 403, RESTRICTED)
    assert_error(client.get("/api/v1/webhook-endpoints"), 403, RESTRICTED)
    assert_error(client.get("/api/v1/analytics/calls"), 403, RESTRICTED)
    assert Agent.objects.count() == 2


def test_a_restricted_key_cannot_reach_another_agents_nested_routes(restricted):
    """Versions, test cases and test runs hang off /agents/:id: the parent agent is
    looked up through the scoped base, so the key's agent list applies there too."""
    from evaluations.models import TestCase

    client, mine, other = restricted
    case = {"name": "Greets", "turns": [{"user": "Hi", "expect": {"contains": ["hello"]}}]}
    for path in (f"/api/v1/agents/{other.id}/versions", f"/api/v1/agents/{other.id}/test-cases"):
        assert_error(client.get(path), 404, f"Agent with ID {other.id} does not exist")
    response = client.post(f"/api/v1/agents/{other.id}/test-cases", case, format="json")
    assert_error(response, 404, f"Agent with ID {other.id} does not exist")
    assert_error(client.post(f"/api/v1/agents/{other.id}/test-runs", {}, format="json"), 404)
    assert_error(client.post(f"/api/v1/agents/{other.id}/versions/1/restore"), 404)
    assert not TestCase.objects.filter(agent=other).exists()
    # Its own agent's nested routes still work.
    versions = assert_success(client.get(f"/api/v1/agents/{mine.id}/versions"), 200)["versions"]
    assert [v["number"] for v in versions] == [1]


def test_a_restricted_keys_export_holds_its_agents_calls_only(restricted):
    client, mine, other = restricted
    my_call, other_call = CallFactory(agent=mine), CallFactory(agent=other)
    response = client.get("/api/v1/calls/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert len(rows) == 2, rows  # the header and the key's one call
    assert rows[1].split(",")[0] == str(my_call.id)
    assert str(other_call.id) not in {row.split(",")[0] for row in rows[1:]}
