"""The calls admin: browsable by platform admins, and its end action uses call_end."""

import pytest
from django.test import Client

from agents.tests.factories import AgentFactory
from calls.models import CallStatus
from calls.tests.factories import CallFactory, TranscriptTurnFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(platform_admin):
    client = Client()
    client.force_login(platform_admin)
    return client


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
    assert b"Ended 1 call(s); 1 already ended." in response.content
    open_call.refresh_from_db()
    done.refresh_from_db()
    assert open_call.status == CallStatus.CANCELED and open_call.end_reason == "ended_by_user"
    assert done.end_reason == ""


def test_tenant_users_cannot_open_the_admin(alice, customer_a):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/calls/call/").status_code == 302
