"""POST /customers/me/function-secret/rotate: the custom-function signing secret, readable
once, with the previous one still signing (both signatures sent) for 24 hours."""

import datetime

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from agents.tests.factories import AgentFactory
from integrations.models import FunctionSecretRotation
from testsupport.api import assert_error, assert_success, client_for
from testsupport.webhooks import Reply, WebhookReceiver
from voice_worker import functions
from voice_worker.config import AgentConfig, CallInfo, FunctionSpec
from voice_worker.selectors import calls_with_conversation

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/me/function-secret/rotate"


def test_an_owner_rotates_and_reads_the_new_secret_once(alice_client, customer_a):
    old = customer_a.signing_secret
    data = assert_success(alice_client.post(URL), 200, "Function secret rotated successfully")
    customer_a.refresh_from_db()
    assert data["secret"] == customer_a.signing_secret != old
    rotation = FunctionSecretRotation.objects.get(customer=customer_a)
    assert rotation.previous_secret == old and rotation.active_previous_secret() == old
    assert data["previousSecretValidUntil"].endswith("Z")
    assert timezone.now() + datetime.timedelta(hours=23) < rotation.expires_at
    assert rotation.active_previous_secret(now=rotation.expires_at + datetime.timedelta(seconds=1)) == ""
    # Not readable anywhere else.
    assert data["secret"] not in str(assert_success(alice_client.get("/api/v1/customers/me")))


def test_members_and_other_tenants_cannot_rotate(charlie, customer_a, bob_client, customer_b):
    old = customer_a.signing_secret
    assert_error(client_for(charlie).post(URL), 403, "You do not have permission to access this resource")
    assert_success(bob_client.post(URL), 200)  # rotates bob's own, never alice's
    customer_a.refresh_from_db()
    assert customer_a.signing_secret == old
    assert not FunctionSecretRotation.objects.filter(customer=customer_a).exists()


def test_the_voice_worker_signs_with_both_secrets_during_the_overlap(alice_client, customer_a):
    from calls.tests.factories import CallFactory

    old = customer_a.signing_secret
    new = assert_success(alice_client.post(URL), 200)["secret"]
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    config = AgentConfig.from_agent(calls_with_conversation().get(pk=call.pk).agent)
    assert (config.signing_secret, config.previous_signing_secret) == (new, old)

    info = CallInfo(
        call_id=call.id,
        customer_id=str(customer_a.id),
        agent_id=call.agent_id,
        direction="inbound",
        from_number="",
        to_number="",
        room_name=call.room_name,
        is_simulation=False,
    )
    with WebhookReceiver(lambda r: Reply(body=b'{"ok": true}')) as receiver:
        spec = FunctionSpec(name="lookup", description="", parameters={"type": "object"}, url=receiver.url)
        result = async_to_sync(functions.invoke)(
            spec,
            {},
            call=info,
            secret=config.signing_secret,
            previous_secret=config.previous_signing_secret,
            timeout=2,
            allow_private=True,
        )
        [request] = receiver.requests
    assert result == {"ok": True}
    header = request.headers[functions.SIGNATURE_HEADER.lower()]
    timestamp = request.headers[functions.TIMESTAMP_HEADER.lower()]
    assert header.count("sha256=") == 2 and header.startswith(functions.sign(new, timestamp, request.body))
    for secret in (new, old):  # an endpoint holding either secret accepts the call
        assert functions.verify(secret, timestamp=timestamp, body=request.body, signature=header)
    assert not functions.verify("another", timestamp=timestamp, body=request.body, signature=header)


def test_after_the_overlap_only_the_new_secret_signs(alice_client, customer_a):
    from calls.tests.factories import CallFactory

    assert_success(alice_client.post(URL), 200)
    FunctionSecretRotation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    config = AgentConfig.from_agent(calls_with_conversation().get(pk=call.pk).agent)
    assert config.previous_signing_secret == ""
