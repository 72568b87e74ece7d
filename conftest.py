"""Shared fixtures: the alice/bob/charlie tenants of every cross-tenant test.

alice owns customer A, charlie is a member of A, bob owns customer B, and
platform_admin runs the platform with no customer.
"""

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import UserFactory
from morpheus.celery import app as celery_app
from tenants.tests.factories import CustomerFactory
from testsupport.api import client_for

# Playwright + Chromium fixtures (`browser`, `page`) for the admin browser tests, and
# `livekit_server`, the local LiveKit (Twirp) server every LiveKit test talks to.
pytest_plugins = ["morpheus.tests.browser", "testsupport.livekit", "testsupport.s3"]


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run inline, even when the suite runs against a real broker (REDIS_URL), so a
    test sees what the worker would have done; the tests that start a real worker turn
    this off for themselves and it is restored after each test."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def fresh_price_lines():
    """The price table is cached per process (calls/cost.py): a test's rolled-back lines
    must not price the next test's calls."""
    from calls import cost

    cost.forget_price_lines()
    yield
    cost.forget_price_lines()


@pytest.fixture(autouse=True)
def empty_lease_pool():
    """Capacity leases live in Redis (or the process), outside the test database: every
    test starts and ends with none held."""
    from calls import leases

    leases.forget_all()
    yield
    leases.forget_all()


@pytest.fixture
def rates(settings):
    """Throttle rates for one test, by scope: `rates(login_email="3/min")`; the others keep theirs."""

    def set_rates(**scopes):
        merged = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}

    return set_rates


@pytest.fixture
def api_client():
    return client_for(None)


@pytest.fixture
def customer_a(db):
    return CustomerFactory(company_name="Alice Corp")


@pytest.fixture
def customer_b(db):
    return CustomerFactory(company_name="Bob Corp")


def _owner_of(customer, *, email: str, name: str):
    """The owner of a test customer, recorded as the one who created it (as onboarding does)."""
    user = UserFactory(email=email, name=name, customer=customer, role=Role.OWNER)
    customer.created_by = user
    customer.save(update_fields=["created_by"])
    return user


@pytest.fixture
def alice(customer_a):
    return _owner_of(customer_a, email="alice@example.com", name="Alice")


@pytest.fixture
def charlie(customer_a, alice):
    return UserFactory(email="charlie@example.com", name="Charlie", customer=customer_a, role=Role.MEMBER)


@pytest.fixture
def bob(customer_b):
    return _owner_of(customer_b, email="bob@example.com", name="Bob")


@pytest.fixture
def platform_admin(db):
    return UserFactory(email="root@example.com", name="Root", role=Role.PLATFORM_ADMIN)


def _api_client_of(user: str):
    """The `<user>_client` fixture: an API client signed in as the user fixture `user`."""

    @pytest.fixture(name=f"{user}_client")
    def signed_in(request):
        return client_for(request.getfixturevalue(user))

    return signed_in


alice_client = _api_client_of("alice")
bob_client = _api_client_of("bob")
charlie_client = _api_client_of("charlie")
platform_admin_client = _api_client_of("platform_admin")


@pytest.fixture
def admin_client(platform_admin):
    """The Django admin signed in as the platform admin (instead of pytest-django's
    superuser: the admin is for platform admins)."""
    client = Client()
    client.force_login(platform_admin)
    return client
