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
    monkeypatch.setattr(health, "MEMORY_SAMPLE_SECONDS", 0)  # each probe reads the heap afresh
    for _ in range(2):
        data = assert_success(api_client.get("/api/v1/health"), 200, "System status retrieved")
        assert all(MEGABYTES.match(data["memory"][key]) for key in ("rss", "heapTotal", "heapUsed"))


class _Readings:
    """memory_now stand-in: counts the readings, each with its own figures."""

    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1
        return {"rss": f"{self.count}.0 MB", "heapTotal": "2.0 MB", "heapUsed": "1.0 MB"}


@pytest.fixture
def readings(monkeypatch):
    readings = _Readings()
    monkeypatch.setattr(health, "memory_now", readings)
    monkeypatch.setattr(health, "_memory_sample", None)
    return readings


def test_probes_within_a_second_share_one_memory_reading_but_each_checks_the_database(
    api_client, readings, monkeypatch
):
    first = assert_success(api_client.get("/api/v1/health"))
    with faults.dead_database() as dead:
        monkeypatch.setattr(health, "connection", dead)
        second = assert_error(api_client.get("/api/v1/health"), 503, "System is unhealthy")["data"]
    assert readings.count == 1
    assert first["memory"] == second["memory"] == {"rss": "1.0 MB", "heapTotal": "2.0 MB", "heapUsed": "1.0 MB"}
    assert (first["database"], second["database"]) == ("connected", "disconnected")


def test_memory_is_read_again_once_the_sample_is_a_second_old(api_client, readings, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
    assert assert_success(api_client.get("/api/v1/health"))["memory"]["rss"] == "1.0 MB"
    clock[0] += 0.999
    assert assert_success(api_client.get("/api/v1/health"))["memory"]["rss"] == "1.0 MB"
    clock[0] += 0.001
    assert assert_success(api_client.get("/api/v1/health"))["memory"]["rss"] == "2.0 MB"
    assert readings.count == 2


def test_a_forked_process_takes_its_own_memory_reading(readings, monkeypatch):
    parent = health.memory_usage()
    child_pid = os.getpid() + 1
    monkeypatch.setattr(health.os, "getpid", lambda: child_pid)  # as in a forked worker
    child = health.memory_usage()
    assert (parent["rss"], child["rss"], readings.count) == ("1.0 MB", "2.0 MB", 2)


def test_a_caller_cannot_change_the_shared_sample(readings):
    health.memory_usage()["rss"] = "tampered"
    assert health.memory_usage()["rss"] == "1.0 MB"


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
