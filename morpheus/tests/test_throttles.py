"""Exact limits: N parallel requests against a limit of L admit exactly L, in Redis and in
the local-memory cache (issue 13, findings 2 and 3)."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tests.factories import UserFactory
from morpheus import ratelimit
from morpheus.api.throttling import AtomicRateThrottle

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-tests"}}
BACKENDS = ["locmem"] + (["redis"] if django_settings.REDIS_URL else [])


def cache_settings(backend: str) -> dict:
    return LOCMEM if backend == "locmem" else django_settings.CACHES


def parallel(function, n: int) -> list:
    barrier = threading.Barrier(n)

    def run(_):
        barrier.wait()
        return function()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_counter_admits_exactly_the_limit_under_concurrency(backend):
    key = f"test-counter-{uuid.uuid4().hex}"
    with override_settings(CACHES=cache_settings(backend)):
        counts = parallel(lambda: ratelimit.hit(key, 60)[0], 64)
    assert sorted(counts) == list(range(1, 65))
    assert sum(1 for count in counts if count <= 10) == 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_window_resets_after_its_duration(backend):
    key = f"test-window-{uuid.uuid4().hex}"
    with override_settings(CACHES=cache_settings(backend)):
        assert ratelimit.hit(key, 1) == (1, 1)
        assert ratelimit.hit(key, 1)[0] == 2
        time.sleep(1.1)
        assert ratelimit.hit(key, 1)[0] == 1


def test_every_throttle_in_the_api_counts_atomically():
    """Any view that throttles uses the atomic counter, including ones added later."""
    seen = []

    def walk(resolver):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                for throttle in getattr(view, "throttle_classes", None) or []:
                    seen.append(throttle)
                    assert issubclass(throttle, AtomicRateThrottle), (pattern, throttle)

    walk(get_resolver())
    assert len(seen) >= 6  # login, mail, invitations, the voice and LiveKit webhooks


# --- Through the API, against a live (threaded) server ----------------------------------


def parallel_posts(live_server, path: str, body, n: int) -> list[int]:
    """n clients post at the same instant, each over its own kept-alive connection (opened
    first with an unthrottled health check, so the server's small listen backlog is not
    what is being tested)."""
    barrier = threading.Barrier(n)

    def client(_):
        session = requests.Session()
        for attempt in range(10):
            try:
                session.get(f"{live_server.url}/api/v1/health", timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.05 * (attempt + 1))
        barrier.wait()
        return session.post(f"{live_server.url}{path}", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(client, range(n)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_login_checks_exactly_the_limit_of_passwords_with_40_parallel_clients(live_server, rates, backend):
    rates(login_email="10/min", login_ip="1000/min")
    email = f"target-{uuid.uuid4().hex[:8]}@example.com"
    UserFactory(email=email)
    with override_settings(CACHES=cache_settings(backend)):
        statuses = parallel_posts(live_server, "/api/v1/auth/login", {"email": email, "password": "wrong"}, 40)
    assert statuses.count(401) == 10, statuses
    assert statuses.count(429) == 30, statuses


@pytest.mark.parametrize("backend", BACKENDS)
def test_unicode_spellings_of_one_email_share_one_counter(live_server, rates, backend):
    rates(login_email="3/min", login_ip="1000/min")
    UserFactory(email="kelvin-s@rel.test")
    spellings = [
        "kelvin-s@rel.test",
        "\u212aelvin-s@rel.te\u017ft",
        "ｋｅｌｖｉｎ-ｓ@ｒｅｌ.ｔｅｓｔ",
        "KELVIN-S@REL.TEST",
    ]
    with override_settings(CACHES=cache_settings(backend)):
        statuses = [
            requests.post(
                f"{live_server.url}/api/v1/auth/login", json={"email": spelling, "password": "wrong"}, timeout=30
            ).status_code
            for spelling in spellings * 2
        ]
    assert statuses == [401, 401, 401] + [429] * 5, statuses


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_webhook_scope_admits_exactly_its_limit(live_server, rates, backend, settings):
    rates(webhook="20/min")
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["127.0.0.1/32"]
    with override_settings(CACHES=cache_settings(backend)):
        caches["default"].delete("throttle_webhook_127.0.0.1")
        # An unknown number: 404, nothing created.
        body = {"From": "+15550009999", "To": "+15557654321"}
        statuses = parallel_posts(live_server, "/api/v1/webhooks/voice/inbound", body, 48)
    assert statuses.count(404) == 20, statuses
    assert statuses.count(429) == 28, statuses
