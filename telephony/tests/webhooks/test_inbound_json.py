"""POST /webhooks/voice/inbound, the spec's JSON form: `{From, To}` → `{action, roomName, agentId}`."""

import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import AgentStatus
from calls.models import Call, CallStatus
from telephony.tests.factories import PhoneNumberFactory
from testsupport.api import assert_bare, assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/voice/inbound"


def post_json(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_it_connects_a_call_to_the_numbers_agent(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, {"From": "+15550009999", "To": "+15551234567"})
    data = assert_bare(response)

    call = Call.objects.get()
    assert data == {
        "action": "connect",
        "roomName": call.room_name,
        "agentId": number.agent_id,
        "callId": call.id,
        "sipUri": f"sip:{call.room_name.removeprefix('call-')}@morpheus.sip.example.com;transport=tcp"
        f"?X-Morpheus-Call-Id={call.id}",
        "reason": None,
    }
    assert call.room_name.startswith("call-")
    assert call.direction == "inbound" and call.status == CallStatus.RINGING and call.carrier == "sip"
    assert call.customer_id == number.customer_id and call.phone_number == number and call.agent == number.agent
    assert call.from_number == "+15550009999" and call.to_number == "+15551234567"

    # The room exists, then the agent was dispatched into it with metadata naming the call.
    assert [r.method for r in livekit_server.requests] == ["CreateRoom", "ListDispatch", "CreateDispatch"]
    room = livekit_server.rooms[call.room_name]
    assert json.loads(room.metadata)["callId"] == call.id and room.empty_timeout == 120
    [dispatch] = livekit_server.dispatches_in(call.room_name)
    assert dispatch.agent_name == "morpheus-voice-agent"
    metadata = json.loads(dispatch.metadata)
    assert metadata["callId"] == call.id and metadata["fromNumber"] == "+15550009999"
    call.refresh_from_db()
    assert call.metadata["agentDispatchId"] == dispatch.id


def test_it_answers_without_a_sip_uri_when_livekit_sip_is_not_configured(api_client, number, settings):
    settings.LIVEKIT_SIP_URI = ""
    data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert data["action"] == "connect" and data["sipUri"] is None


@pytest.mark.parametrize("to", ["tel:+15551234567", "sip:+15551234567@carrier.example.com;user=phone"])
def test_it_accepts_tel_and_sip_uris(api_client, number, to):
    data = assert_bare(post_json(api_client, {"From": "sip:alice@example.com", "To": to}))
    assert data["callId"] == Call.objects.get().id
    assert Call.objects.get().to_number == "+15551234567"


def test_a_retry_with_the_same_call_sid_returns_the_same_call(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    body = {"From": "+15550009999", "To": "+15551234567", "CallSid": "sip-call-1"}
    with django_capture_on_commit_callbacks(execute=True):
        first = assert_bare(post_json(api_client, body))
    with django_capture_on_commit_callbacks(execute=True):
        second = assert_bare(post_json(api_client, body))
    assert second == first
    assert Call.objects.count() == 1
    assert len(livekit_server.requests_for("CreateRoom")) == 1
    assert len(livekit_server.requests_for("CreateDispatch")) == 1


def test_a_retry_of_an_ended_call_is_a_conflict(api_client, number):
    body = {"From": "+15550009999", "To": "+15551234567", "CallSid": "sip-call-2"}
    first = assert_bare(post_json(api_client, body))
    Call.objects.filter(pk=first["callId"]).update(status=CallStatus.COMPLETED)
    assert_error(post_json(api_client, body), 409, f"Call with ID {first['callId']} has already ended")
    assert Call.objects.count() == 1


def test_without_a_call_sid_a_quick_repeat_returns_the_ringing_call(api_client, number, livekit_server):
    first = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    second = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert second == first
    assert Call.objects.count() == 1 and len(livekit_server.requests_for("CreateRoom")) == 1
    # Another caller is another call.
    third = assert_bare(post_json(api_client, {"From": "+15550008888", "To": "+15551234567"}))
    assert third["callId"] != first["callId"] and third["roomName"] != first["roomName"]


def test_without_a_call_sid_a_repeat_after_the_window_is_a_new_call(api_client, number):
    first = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    Call.objects.filter(pk=first["callId"]).update(created_at=Call.objects.get().created_at.replace(year=2000))
    second = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert first["callId"] != second["callId"] and first["roomName"] != second["roomName"]


def test_a_customer_rings_at_most_the_cap_at_once(api_client, number, livekit_server, settings):
    settings.VOICE_INBOUND_MAX_RINGING = 2
    answers = [assert_bare(post_json(api_client, {"From": f"+1555000{i:04d}", "To": "+15551234567"})) for i in range(4)]
    assert [a["action"] for a in answers] == ["connect", "connect", "reject", "reject"]
    assert answers[2] == {
        "action": "reject",
        "roomName": None,
        "agentId": None,
        "callId": None,
        "sipUri": None,
        "reason": "too_many_ringing_calls",
    }
    assert Call.objects.count() == 2 and len(livekit_server.requests_for("CreateRoom")) == 2
    # Once one is answered, another may ring.
    Call.objects.filter(pk=answers[0]["callId"]).update(status=CallStatus.ACTIVE)
    assert assert_bare(post_json(api_client, {"From": "+15550001111", "To": "+15551234567"}))["action"] == "connect"


def test_an_unknown_number_is_a_404_and_nothing_is_created(api_client, number, livekit_server):
    response = post_json(api_client, {"From": "+15550009999", "To": "+15557654321"})
    assert_error(response, 404, "Phone number +15557654321 does not exist")
    assert Call.objects.count() == 0 and livekit_server.requests == []


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda n: setattr(n, "agent", None), "no_agent"),
        (lambda n: setattr(n.agent, "status", AgentStatus.PAUSED), "agent_inactive"),
        (lambda n: setattr(n.agent, "status", AgentStatus.DRAFT), "agent_inactive"),
        (lambda n: setattr(n.customer, "status", "suspended"), "customer_suspended"),
    ],
)
def test_a_number_that_cannot_answer_rejects_politely(api_client, number, livekit_server, caplog, setup, reason):
    setup(number)
    number.save()
    number.customer.save()
    if number.agent:
        number.agent.save()
    with caplog.at_level(logging.WARNING, logger="telephony.webhooks.views"):
        response = post_json(api_client, {"From": "+15550009999", "To": "+15551234567"})
    data = assert_bare(response)
    assert data == {
        "action": "reject",
        "reason": reason,
        "roomName": None,
        "agentId": None,
        "callId": None,
        "sipUri": None,
    }
    assert Call.objects.count() == 0 and livekit_server.requests == []
    assert reason in caplog.text and "+15551234567" in caplog.text


def test_another_tenants_agent_on_a_number_is_never_dispatched(api_client, customer_a, customer_b, voice_settings):
    from agents.tests.factories import AgentFactory

    PhoneNumberFactory(customer=customer_a, phone_number="+15551230000", agent=AgentFactory(customer=customer_b))
    data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551230000"}))
    assert data["action"] == "reject" and data["reason"] == "no_agent"
    assert Call.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"From": "+15550009999"}, ["To"]),
        ({"To": "+15551234567"}, ["From"]),
        ({"From": "+15550009999", "To": "hello"}, ["To"]),
        ({"From": "+15550009999", "To": "5551234567"}, ["To"]),
        ({"From": "+15550009999", "To": "+1555123456789012345"}, ["To"]),
        ({"From": "x" * 65, "To": "+15551234567"}, ["From"]),
        ({}, ["From", "To"]),
    ],
)
def test_it_rejects_malformed_bodies(api_client, number, livekit_server, body, fields):
    assert_error(post_json(api_client, body), 400, "Validation failed", fields=fields)
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_it_rejects_a_body_that_is_not_an_object(api_client, number):
    assert_error(post_json(api_client, ["+15551234567"]), 400, "Malformed JSON in request body")
    assert_error(
        api_client.post(URL, "{broken", content_type="application/json"), 400, "Malformed JSON in request body"
    )
    assert Call.objects.count() == 0


def test_it_refuses_other_content_types(api_client, number):
    response = api_client.post(URL, "From=1", content_type="text/plain")
    assert_error(response, 415)
    assert Call.objects.count() == 0


def test_livekit_down_is_a_503_and_the_call_fails_with_the_cause(api_client, number, livekit_server):
    livekit_server.stop()
    response = post_json(api_client, {"From": "+15550009999", "To": "+15551234567"})
    assert_error(response, 503, "Voice service is unavailable, please try again later")
    # The row commits before the room is made (no LiveKit call inside a transaction), so
    # the clean state is a failed call saying why, not a ringing one, and nothing else.
    [call] = Call.objects.all()
    assert call.status == CallStatus.FAILED and call.end_reason == "error" and call.ended_at is not None
    assert call.error_message.startswith("LiveKit room creation failed: Voice service is unavailable")
    assert livekit_server.rooms == {} and livekit_server.dispatches == {}


def test_a_caller_after_livekit_recovers_gets_a_new_call(api_client, number, livekit_server):
    livekit_server.stop()
    assert_error(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}), 503)
    livekit_server.start()
    data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    call = Call.objects.get(pk=data["callId"])
    assert call.status == CallStatus.RINGING and call.room_name in livekit_server.rooms
    assert Call.objects.filter(status=CallStatus.FAILED).count() == 1


def test_livekit_not_configured_is_a_503(api_client, number, settings):
    settings.LIVEKIT_URL = ""
    response = post_json(api_client, {"From": "+15550009999", "To": "+15551234567"})
    assert_error(response, 503, "Voice service is not configured")
    assert Call.objects.count() == 0


def test_the_dispatch_is_retried_while_livekit_fails(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    livekit_server.fail_next("CreateDispatch", code="unavailable", times=3)
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    call = Call.objects.get(pk=data["callId"])
    assert call.status == CallStatus.RINGING
    assert len(livekit_server.requests_for("CreateDispatch")) == 4
    assert len(livekit_server.dispatches_in(call.room_name)) == 1


def test_the_call_fails_when_the_dispatch_never_succeeds(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    livekit_server.fail_next("CreateDispatch", code="unavailable", times=100)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    # The failure's own teardown and finalisation were queued on commit too.
    for callback in callbacks[1:]:
        callback()
    call = Call.objects.get(pk=data["callId"])
    assert call.status == CallStatus.FAILED and call.end_reason == "error"
    assert "Agent dispatch failed" in call.error_message and call.ended_at is not None
    assert len(livekit_server.requests_for("CreateDispatch")) == 6  # the first try and 5 retries
    assert call.room_name not in livekit_server.rooms  # torn down: the caller is not left in silence


def test_it_is_throttled(api_client, number, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "webhook": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for _ in range(2):
        post_json(api_client, {"From": "+15550009999", "To": "+15557654321"})
    response = post_json(api_client, {"From": "+15550009999", "To": "+15551234567"})
    assert_error(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Call.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_room_is_created_after_the_call_row_commits(api_client, number, livekit_server, monkeypatch):
    """No LiveKit round trip inside a transaction (it would hold the customer's row lock)."""
    from django.db import transaction

    from calls import livekit_client

    seen = []
    create_room = livekit_client.create_room

    def spying_create_room(name, **kwargs):
        seen.append((transaction.get_connection().in_atomic_block, Call.objects.filter(room_name=name).exists()))
        return create_room(name, **kwargs)

    monkeypatch.setattr(livekit_client, "create_room", spying_create_room)
    data = assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert seen == [(False, True)]
    call = Call.objects.get(pk=data["callId"])
    assert call.status == CallStatus.RINGING and call.room_name in livekit_server.rooms
    assert len(livekit_server.dispatches_in(call.room_name)) == 1


def test_a_new_call_takes_a_bounded_number_of_statements(api_client, number, livekit_server):
    """The request path of an inbound call (docs/performance.md): the analytics rollups are
    one statement on PostgreSQL (an upsert per rollup table and the call's fact, as WITH
    queries; they were three statements per rollup row, 30 in all), and the whole request
    stays within a fixed budget."""
    with CaptureQueriesContext(connection) as captured:
        assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    statements = [query["sql"] for query in captured.captured_queries]
    analytics = [sql for sql in statements if '"analytics_' in sql]
    # 15-minute, day and hour rows, and the fact
    assert len(analytics) == (1 if connection.vendor == "postgresql" else 4), analytics
    assert len(statements) <= (12 if connection.vendor == "postgresql" else 16), "\n".join(statements)
    # The route reads only what the call uses of the agent and the customer (routing.ROUTED_*_FIELDS).
    wide = ('"agents_agent"."system_prompt"', '"tenants_customer"."company_name"')
    assert not [sql for sql in statements if any(column in sql for column in wide)], statements[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rebuild lock is a PostgreSQL advisory lock")
def test_a_new_call_is_counted_under_the_rebuild_lock_its_capacity_read_took(
    api_client, number, livekit_server, monkeypatch
):
    """The call counts itself without taking the tenant's analytics rebuild lock again
    (`rebuild_locked=True`): the capacity read must have taken it in the same transaction,
    or a bulk rebuild could run between the call's insert and its counting."""
    from analytics.rollups import REBUILD_LOCK_CLASS
    from calls import services

    held = []
    count = services.rollups_calls_added

    def counting(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = %s",
                [REBUILD_LOCK_CLASS],
            )
            held.extend(mode for (mode,) in cursor.fetchall())
        return count(*args, **kwargs)

    monkeypatch.setattr(services, "rollups_calls_added", counting)
    assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert held == ["ShareLock"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_new_call_is_made_under_its_customers_row_lock(api_client, number, livekit_server, monkeypatch):
    """One inbound start per customer at a time (the ringing cap and the dedupe are exact):
    while the call is being made, another connection cannot lock the customer's row. The
    race tests overlap posts but cannot tell a lucky interleaving from a held lock."""
    import threading

    from django.db import OperationalError, connections

    from calls import services

    seen = []
    capacity_for = services.leases.capacity_for

    def other_connection_tries_the_lock():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT id FROM tenants_customer WHERE id = %s FOR UPDATE NOWAIT", [number.customer_id])
                seen.append("locked it")
        except OperationalError as error:
            seen.append(type(error.__cause__).__name__)
        finally:
            connections.close_all()

    def capacity_while_probing(*args, **kwargs):
        probe = threading.Thread(target=other_connection_tries_the_lock)
        probe.start()
        probe.join()
        return capacity_for(*args, **kwargs)

    monkeypatch.setattr(services.leases, "capacity_for", capacity_while_probing)
    assert_bare(post_json(api_client, {"From": "+15550009999", "To": "+15551234567"}))
    assert seen == ["LockNotAvailable"]


def test_the_call_records_the_agents_current_version(api_client, number, livekit_server):
    """The version is read under the customer's lock (one statement): the latest of this
    agent's versions, never another agent's newer one."""
    from django.db import transaction

    from agents.models import AgentVersion
    from agents.services import agent_version_record
    from agents.tests.factories import AgentFactory

    agent = number.agent
    before = AgentVersion.objects.filter(agent=agent).order_by("-number").first()
    first = assert_bare(post_json(api_client, {"From": "+15550000001", "To": "+15551234567"}))
    assert Call.objects.get(pk=first["callId"]).agent_version_id == (before.pk if before else None)

    with transaction.atomic():
        agent.system_prompt = "You answer for Reception, edited."
        agent.save()
        latest = agent_version_record(agent=agent)
        agent_version_record(agent=AgentFactory(customer=number.customer))  # newer, another agent's
    assert latest != before and latest.number == (before.number + 1 if before else 1)

    second = assert_bare(post_json(api_client, {"From": "+15550000002", "To": "+15551234567"}))
    assert Call.objects.get(pk=second["callId"]).agent_version_id == latest.pk
