"""The action mixins of thin resources (morpheus/api/viewsets.py) answer errors in the order
the hand-written actions did: a row before its body, a nested route's parent only for the
actions it serves."""

import pytest

from agents.tests.factories import AgentFactory
from telephony.tests.factories import PhoneNumberFactory
from testsupport.api import assert_error

pytestmark = pytest.mark.django_db


def test_a_patch_looks_the_row_up_before_it_parses_the_body(alice_client, bob_client, customer_a):
    number = PhoneNumberFactory(customer=customer_a)
    bad = {"agentId": "not-a-number"}
    url = f"/api/v1/phone-numbers/{number.pk}"
    # Another tenant learns nothing about the body it sent, only that there is no such row.
    assert_error(bob_client.patch(url, bad, format="json"), 404, f"Phone number with ID {number.pk} does not exist")
    assert_error(alice_client.patch(url, bad, format="json"), 400, fields=["agentId"])


def test_a_nested_route_looks_its_parent_up_only_for_its_actions(alice_client, customer_b):
    theirs = AgentFactory(customer=customer_b)
    url = f"/api/v1/agents/{theirs.pk}/versions"
    assert_error(alice_client.get(url), 404, f"Agent with ID {theirs.pk} does not exist")
    # A method the route does not serve is its 405, and OPTIONS its metadata, as before the mixin.
    assert_error(alice_client.put(url, {}, format="json"), 405, 'Method "PUT" not allowed.')
    assert alice_client.options(url).status_code == 200
