"""Dependencies down answer 503 in the envelope or degrade, never 500, and lose nothing
(issue 13, findings 4, 5 and 9). Real clients dial addresses nothing serves."""

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import TEST_PASSWORD
from agents.tests.factories import AgentFactory
from calls.models import Call, CallDirection, CallStatus
from calls.tests.factories import CallFactory
from morpheus import outbox
from morpheus.models import OutboxMessage, OutboxStatus
from telephony.tests.factories import PhoneNumberFactory
from testsupport import faults
from testsupport.api import assert_error, assert_success, client_for

UNAVAILABLE = "Service temporarily unavailable"


def quiet_client(user=None) -> APIClient:
    """A client that shows the 500 page instead of re-raising, as a real client sees it."""
    client = client_for(user)
    client.raise_request_exception = False
    return client


# --- Redis (cache, throttles, locks) ------------------------------------------------


@pytest.mark.django_db
def test_redis_down_login_and_mail_endpoints_still_answer(alice, mailoutbox, django_capture_on_commit_callbacks):
    with faults.redis_down(), django_capture_on_commit_callbacks(execute=True):
        client = quiet_client()
        login = client.post("/api/v1/auth/login", {"email": alice.email, "password": TEST_PASSWORD}, format="json")
        assert assert_success(login, 200)["auth"]["user"]["email"] == alice.email
        forgot = client.post("/api/v1/auth/password/forgot", {"email": alice.email}, format="json")
        assert_success(forgot, 200)
        verify = client.post(
            "/api/v1/auth/register/request-verification", {"email": "newcomer@example.com"}, format="json"
        )
        assert_success(verify, 200)
        invite = quiet_client(alice).post("/api/v1/users", {"email": "dora@example.com"}, format="json")
        assert assert_success(invite, 201)["email"] == "dora@example.com"
    assert len(mailoutbox) == 3


@pytest.mark.django_db
def test_redis_down_throttles_still_count_in_the_process(alice, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_email": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    with faults.redis_down():
        client = quiet_client()
        body = {"email": "throttled-while-redis-is-down@example.com", "password": "wrong"}
        statuses = [client.post("/api/v1/auth/login", body, format="json").status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]


@pytest.mark.django_db
def test_redis_down_inbound_calls_connect(api_client, customer_a, livekit_server, settings):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["127.0.0.1/32"]
    agent = AgentFactory(customer=customer_a)
    PhoneNumberFactory(customer=customer_a, phone_number="+15551234567", agent=agent)
    with faults.redis_down():
        response = quiet_client().post(
            "/api/v1/webhooks/voice/inbound", {"From": "+15550009999", "To": "+15551234567"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "connect" and Call.objects.count() == 1


@pytest.mark.django_db
def test_redis_down_text_turns_are_a_503(alice, customer_a):
    call = CallFactory(
        agent=AgentFactory(customer=customer_a),
        is_simulation=True,
        direction=CallDirection.WEB,
        status=CallStatus.ACTIVE,
        answered_at=timezone.now(),
    )
    with faults.redis_down():
        response = quiet_client(alice).post(f"/api/v1/calls/{call.pk}/messages", {"content": "Hi"}, format="json")
    assert_error(response, 503, UNAVAILABLE)
    assert response["Retry-After"] == "5"
    assert not call.turns.exists()


# --- PostgreSQL -----------------------------------------------------------------------


needs_postgresql = pytest.mark.skipif(
    "postgresql" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="a server database to take down (the SQLite test database lives in memory)",
)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_503_at_every_layer(alice, platform_admin):
    member, admin, anonymous = quiet_client(alice), quiet_client(platform_admin), quiet_client()
    with faults.database_down():
        # Authentication reads the user: the outage shows there first.
        assert_error(member.get("/api/v1/agents"), 503, UNAVAILABLE)
        assert_error(member.post("/api/v1/agents", {"name": "x"}, format="json"), 503, UNAVAILABLE)
        assert_error(member.get("/api/v1/calls"), 503, UNAVAILABLE)
        assert_error(admin.get("/api/v1/admin/system/health"), 503, UNAVAILABLE)
        login = {"email": alice.email, "password": TEST_PASSWORD}
        assert_error(anonymous.post("/api/v1/auth/login", login, format="json"), 503, UNAVAILABLE)
        # The public health check reports the outage with its own body.
        health = anonymous.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["data"]["database"] == "disconnected"
    # And once it is back, the next request works.
    assert_success(member.get("/api/v1/agents"), 200)


@pytest.mark.django_db(transaction=True)
def test_database_down_outside_drf_is_a_503_envelope():
    from django.db import OperationalError

    from morpheus.error_views import server_error

    class Request:
        path = "/api/v1/anything"
        method = "GET"
        META = {"REMOTE_ADDR": "127.0.0.1"}

    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(Request())
    body = json.loads(response.content)
    assert response.status_code == 503 and body["statusCode"] == 503 and body["message"] == UNAVAILABLE


# --- The broker ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ending_a_call_with_the_broker_down_succeeds_and_finalizes_later(alice, customer_a, livekit_server):
    answered = timezone.now() - datetime.timedelta(seconds=90)
    call = CallFactory(
        agent=AgentFactory(customer=customer_a), status=CallStatus.ACTIVE, started_at=answered, answered_at=answered
    )
    livekit_server.add_participant(call.room_name, "sip-caller")
    with faults.broker_down():
        data = assert_success(quiet_client(alice).post(f"/api/v1/calls/{call.pk}/end"), 200, "Call ended successfully")
    assert data["status"] == "completed"
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED and "summary" not in call.metadata  # not finalized yet
    [pending] = OutboxMessage.objects.filter(task_name="calls.tasks.finalize_call")
    assert pending.status == OutboxStatus.PENDING and pending.args == [call.pk]

    # The broker is back (eager Celery stands in for the worker); the beat sweeper delivers.
    OutboxMessage.objects.filter(pk=pending.pk).update(created_at=pending.created_at - datetime.timedelta(minutes=5))
    assert outbox.sweep() >= 1
    call.refresh_from_db()
    assert "summary" in call.metadata
    pending.refresh_from_db()
    assert pending.status == OutboxStatus.SENT
