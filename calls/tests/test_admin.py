"""The calls admin: browsable by platform admins, and its end action uses call_end."""

import html

import pytest
from django.test import Client

from agents.tests.factories import AgentFactory
from calls.models import CallStatus
from calls.tests.factories import CallFactory, TranscriptTurnFactory, measured_exchange

pytestmark = pytest.mark.django_db


def test_the_changelist_and_change_page_render(admin_client, customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    TranscriptTurnFactory(call=call, content="Hello from the transcript")
    assert admin_client.get("/admin/calls/call/").status_code == 200
    page = admin_client.get(f"/admin/calls/call/{call.id}/change/")
    assert page.status_code == 200 and b"Hello from the transcript" in page.content


def test_the_end_action_closes_open_calls_only(admin_client, customer_a, livekit_server):
    agent = AgentFactory(customer=customer_a)
    open_call = CallFactory(agent=agent)
    done = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    response = admin_client.post(
        "/admin/calls/call/",
        {"action": "end_calls", "_selected_action": [open_call.id, done.id]},
        follow=True,
    )
    assert [(m.level_tag, m.message) for m in response.context["messages"]] == [
        ("warning", f"Call with ID {done.id} has already ended"),
        ("success", f"Ended 1 call: #{open_call.id}"),
    ]
    open_call.refresh_from_db()
    done.refresh_from_db()
    assert open_call.status == CallStatus.CANCELED and open_call.end_reason == "ended_by_user"
    assert done.end_reason == ""


def test_tenant_users_cannot_open_the_admin(alice, customer_a):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/calls/call/").status_code == 302


def test_the_change_page_shows_the_transcript_with_latency_read_only(admin_client, customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    measured_exchange(call, "Where is my order?", "It ships today.", (310.5, 420.25, 180.5, 911.75))
    page = admin_client.get(f"/admin/calls/call/{call.id}/change/")
    body = html.unescape(page.content.decode())
    assert "Where is my order?" in body and "It ships today." in body
    for figure in ("310.5", "420.25", "180.5", "911.75"):
        assert figure in body
    assert '"assistantTurns": 1' in body  # the transcript summary
    assert 'name="_save"' not in body  # history is not edited
    assert admin_client.post(f"/admin/calls/call/{call.id}/change/", {}).status_code == 403
    assert admin_client.get(f"/admin/calls/call/{call.id}/delete/").status_code == 403


def test_the_end_button_confirms_then_ends_the_call(admin_client, customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a), answered_at=None, status=CallStatus.RINGING)
    page = admin_client.get(f"/admin/calls/call/{call.id}/change/")
    assert f'href="/admin/calls/call/{call.id}/end/"'.encode() in page.content

    confirm = admin_client.get(f"/admin/calls/call/{call.id}/end/")
    assert confirm.status_code == 200 and b"Yes, end the call" in confirm.content
    call.refresh_from_db()
    assert call.is_open  # a GET changes nothing

    response = admin_client.post(f"/admin/calls/call/{call.id}/end/", follow=True)
    assert [m.message for m in response.context["messages"]] == [f"Call #{call.id} ended"]
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.CANCELED, "ended_by_user")
    assert b"/end/" not in admin_client.get(f"/admin/calls/call/{call.id}/change/").content

    again = admin_client.post(f"/admin/calls/call/{call.id}/end/", follow=True)
    assert [m.message for m in again.context["messages"]] == [f"Call with ID {call.id} has already ended"]


def test_ending_an_unknown_call_redirects_with_a_message(admin_client):
    response = admin_client.post("/admin/calls/call/999999/end/", follow=True)
    assert "doesn’t exist" in [m.message for m in response.context["messages"]][0]


def test_the_list_filters_open_calls_and_searches_by_id(admin_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    ringing = CallFactory(agent=agent, status=CallStatus.RINGING, room_name="call-aaa", from_number="+442071838750")
    CallFactory(agent=agent, status=CallStatus.COMPLETED, room_name="call-bbb", from_number="+442071838750")
    page = admin_client.get("/admin/calls/call/", {"open": "yes"})
    assert list(page.context["cl"].result_list) == [ringing]
    page = admin_client.get("/admin/calls/call/", {"q": str(ringing.id)})
    assert ringing in page.context["cl"].result_list
    page = admin_client.get("/admin/calls/call/", {"q": "call-aaa"})
    assert list(page.context["cl"].result_list) == [ringing]
    assert admin_client.get("/admin/calls/call/", {"q": "not-a-number"}).status_code == 200


def test_the_call_page_reads_as_a_conversation_with_analysis_recording_and_cost(admin_client, customer_a, settings):
    import datetime

    from calls.models import RecordingStatus

    settings.RECORDINGS_S3_BUCKET = "recordings"
    settings.RECORDINGS_S3_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.RECORDINGS_S3_ACCESS_KEY, settings.RECORDINGS_S3_SECRET_KEY = "access", "secret"
    answered = datetime.datetime(2026, 3, 10, 10, 0, 0, tzinfo=datetime.UTC)
    call = CallFactory(
        agent=AgentFactory(customer=customer_a),
        answered_at=answered,
        analysis={
            "status": "done",
            "summary": "Asked about the order; it ships today.",
            "successful": True,
            "sentiment": "positive",
            "data": {"orderId": "A-42"},
        },
        cost_breakdown={"total": 0.0123, "currency": "USD", "breakdown": {"llm": 0.01, "platform": 0.0023}},
        recording_status=RecordingStatus.READY,
        recording_key="recordings/x/1.ogg",
        metadata={"summary": {"turns": 3, "assistantTurns": 1}},
    )
    for seconds, fields in (
        (3, {"role": "user", "content": "Where is my order?", "end_of_turn_delay_ms": 310.5}),
        (5, {"role": "tool", "content": "", "tool_name": "lookup_order", "tool_payload": {"orderId": "A-42"}}),
        (7, {"role": "assistant", "content": "It ships today.", "e2e_latency_ms": 911.75}),
    ):
        turn = TranscriptTurnFactory(call=call, **fields)
        type(turn).objects.filter(pk=turn.pk).update(created_at=answered + datetime.timedelta(seconds=seconds))
    body = html.unescape(admin_client.get(f"/admin/calls/call/{call.id}/change/").content.decode())
    conversation = body[body.index('<div id="conversation"') :]
    # Alternating turns in order, second-precision times and offsets, latency per turn, the tool inline.
    assert (
        conversation.index("Where is my order?") < conversation.index("lookup_order") < conversation.index("It ships")
    )
    assert "10:00:03" in conversation and "(+0:03)" in conversation and "(+0:07)" in conversation
    assert "2026-03-10 10:00:00" in body  # the answer time, to the second
    assert "end of turn 310.5 ms" in conversation and "end to end 911.75 ms" in conversation
    assert '"orderId": "A-42"' in conversation
    # The analysis as fields, the recording as a player, the cost as a table.
    assert '<th scope="row">Summary</th><td>Asked about the order; it ships today.</td>' in body
    assert '<th scope="row">orderId</th><td>A-42</td>' in body
    assert '<audio id="call-recording" controls' in body and "recordings/x/1.ogg" in body
    assert 'id="call-cost"' in body
    # The transcript summary once (not again inside the metadata).
    assert body.count('"assistantTurns"') == 1
