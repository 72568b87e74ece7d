"""events.emit: written in the caller's transaction, only for endpoints that listen."""

import pytest
from django.db import transaction

from agents.tests.factories import AgentFactory
from integrations import events
from integrations.catalogue import get_event_type, register_event_type
from integrations.models import DeliveryStatus, Event, WebhookDelivery
from morpheus.models import OutboxMessage

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def test_it_writes_the_event_and_one_pending_delivery_per_listening_endpoint(customer_a, customer_b):
    listening = WebhookEndpointFactory(customer=customer_a, events=["call.ended"])
    WebhookEndpointFactory(customer=customer_a, events=["call.started"])  # another event
    WebhookEndpointFactory(customer=customer_a, events=["call.ended"], enabled=False)
    WebhookEndpointFactory(customer=customer_b, events=["call.ended"])  # another tenant

    with transaction.atomic():
        event = events.emit(customer_id=customer_a.id, event_type="call.ended", data={"id": 5})

    assert event.type == "call.ended" and event.data == {"id": 5} and event.customer_id == customer_a.id
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint_id, delivery.event_id, delivery.status) == (
        listening.id,
        event.id,
        DeliveryStatus.PENDING,
    )
    assert delivery.customer_id == customer_a.id and delivery.next_attempt_at is not None
    message = OutboxMessage.objects.get()
    assert (message.task_name, message.args) == ("integrations.tasks.deliver_webhook", [delivery.id])


def test_nobody_listening_writes_nothing_and_never_builds_the_data(customer_a):
    built = []
    with transaction.atomic():
        result = events.emit(customer_id=customer_a.id, event_type="call.ended", data=lambda: built.append(1))
    assert result is None and built == []
    assert not Event.objects.exists() and not OutboxMessage.objects.exists()


def test_a_rolled_back_change_takes_its_event_with_it(customer_a):
    WebhookEndpointFactory(customer=customer_a, events=["call.ended"])
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(customer_id=customer_a.id, event_type="call.ended", data={})
        raise RuntimeError("the change failed")
    assert not Event.objects.exists() and not WebhookDelivery.objects.exists()


def test_an_agent_restricted_endpoint_hears_only_its_agents(customer_a):
    mine, other = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    endpoint = WebhookEndpointFactory(customer=customer_a, events=["call.ended"], agent_ids=[mine.id])
    with transaction.atomic():
        assert events.emit(customer_id=customer_a.id, event_type="call.ended", data={}, agent_id=other.id) is None
        assert events.emit(customer_id=customer_a.id, event_type="call.ended", data={}, agent_id=None) is None
        event = events.emit(customer_id=customer_a.id, event_type="call.ended", data={}, agent_id=mine.id)
    assert WebhookDelivery.objects.get().endpoint_id == endpoint.id
    assert event.agent_id == mine.id


def test_data_is_stored_in_the_apis_json_formats(customer_a):
    import datetime
    import decimal

    WebhookEndpointFactory(customer=customer_a, events=["call.ended"])
    when = datetime.datetime(2026, 2, 5, 21, 30, 0, 123456, tzinfo=datetime.UTC)
    with transaction.atomic():
        event = events.emit(
            customer_id=customer_a.id, event_type="call.ended", data={"at": when, "cost": decimal.Decimal("0.5")}
        )
    event.refresh_from_db()
    assert event.data == {"at": "2026-02-05T21:30:00.123Z", "cost": 0.5}


def test_unknown_event_types_are_refused(customer_a):
    with pytest.raises(ValueError, match="Unknown event type"), transaction.atomic():
        events.emit(customer_id=customer_a.id, event_type="call.exploded", data={})


@pytest.mark.django_db(transaction=True)
def test_emitting_outside_a_transaction_is_refused(customer_a):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit(customer_id=customer_a.id, event_type="call.ended", data={})


def test_other_apps_extend_the_catalogue():
    register_event_type("test.happened", "A test event.")
    assert get_event_type("test.happened").description == "A test event."
    with pytest.raises(ValueError):
        register_event_type("bad name", "spaces are not allowed")
