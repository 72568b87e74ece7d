import os
import re

import pytest

from morpheus import health
from testsupport import faults
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

MEGABYTES = re.compile(r"^\d+\.\d MB$")


def test_it_reports_a_healthy_system(api_client):
    data = assert_success(api_client.get("/api/v1/health"), 200, "System status retrieved")
    assert data["status"] == "healthy"
    assert data["database"] == "connected"
    assert re.fullmatch(r"\d+d \d+h \d+m \d+s", data["uptime"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["timestamp"])
    assert all(MEGABYTES.match(data["memory"][key]) for key in ("rss", "heapTotal", "heapUsed"))
    system = data["system"]
    assert system["pid"] == os.getpid()
    assert system["platform"] == "linux"
    assert re.fullmatch(r"3\.\d+\.\d+", system["pythonVersion"])
    assert len(system["loadAvg"]) == 3


def test_it_needs_no_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert_success(api_client.get("/api/v1/health"))


@pytest.fixture
def dead_database(monkeypatch):
    with faults.dead_database() as dead:
        monkeypatch.setattr(health, "connection", dead)
        yield dead


def test_it_answers_503_unhealthy_when_the_database_is_down(api_client, dead_database):
    response = api_client.get("/api/v1/health")
    body = assert_error(response, 503, "System is unhealthy")
    assert body["data"]["status"] == "unhealthy"
    assert body["data"]["database"] == "disconnected"
    assert MEGABYTES.match(body["data"]["memory"]["rss"])


def test_it_formats_uptime_and_sizes():
    assert health.format_uptime(2 * 86400 + 4 * 3600 + 12 * 60 + 30.7) == "2d 4h 12m 30s"
    assert health.format_megabytes(int(50.5 * 1024 * 1024)) == "50.5 MB"


def test_it_looks_up_the_c_library_once_per_process(api_client, monkeypatch):
    assert_success(api_client.get("/api/v1/health"))  # the first probe may resolve it

    def no_lookup(name):  # find_library runs `ldconfig -p` in a subprocess
        raise AssertionError("find_library called on a /health request")

    monkeypatch.setattr(health.ctypes.util, "find_library", no_lookup)
    for _ in range(2):
        data = assert_success(api_client.get("/api/v1/health"), 200, "System status retrieved")
        assert all(MEGABYTES.match(data["memory"][key]) for key in ("rss", "heapTotal", "heapUsed"))


# What changes from one probe to the next, cut out of the bytes before comparing them.
VOLATILE = re.compile(rb'"(uptime|timestamp)":"[^"]*"|"(memory|system)":\{[^}]*\}')


def _answer(response):
    headers = {key: value for key, value in response.items() if key != "X-Request-ID"}
    return response.status_code, headers, VOLATILE.sub(b"", response.content)


def test_a_probe_gets_what_drf_answers(api_client):
    """A plain GET (a load balancer's probe) skips DRF's request cycle; an Accept that DRF
    must negotiate goes through it. Both answers are the same: status, headers, envelope."""
    probe = api_client.get("/api/v1/health")
    negotiated = api_client.get("/api/v1/health", HTTP_ACCEPT="text/html;q=0.5, application/json;q=0.9")
    assert _answer(probe) == _answer(negotiated)
    assert probe["Content-Type"] == "application/json" and probe["Allow"] == "GET, HEAD, OPTIONS"
    assert _answer(api_client.get("/api/v1/health", HTTP_ACCEPT="*/*")) == _answer(probe)


def test_an_unhealthy_probe_gets_what_drf_answers(api_client, dead_database):
    probe = api_client.get("/api/v1/health")
    negotiated = api_client.get("/api/v1/health", HTTP_ACCEPT="application/json; q=0.9")
    assert probe.status_code == 503
    assert _answer(probe) == _answer(negotiated)


def test_what_drf_negotiates_is_still_negotiated(api_client):
    assert_error(api_client.get("/api/v1/health", HTTP_ACCEPT="text/html"), 406)
    assert_error(api_client.post("/api/v1/health"), 405)


def test_a_probe_that_fails_gets_the_envelope_like_any_request(api_client, monkeypatch):
    """The probe's own path still ends in the one exception handler: a failure reading the
    process (psutil, the C library) is the envelope's 500, as it is through DRF, not a page."""

    def broken():
        raise OSError("no /proc here")

    monkeypatch.setattr(health, "memory_usage", broken)
    probe = api_client.get("/api/v1/health")
    negotiated = api_client.get("/api/v1/health", HTTP_ACCEPT="application/json; q=0.9")
    assert_error(probe, 500)
    assert _answer(probe) == _answer(negotiated)
