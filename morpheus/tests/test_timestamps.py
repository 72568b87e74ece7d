"""TimestampedModel: a new row's updatedAt equals its createdAt; a later save moves it."""

import datetime
from unittest import mock

import pytest

from agents.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 1, 1, 12, 0, 0, 999_900, tzinfo=datetime.UTC)


def ticking_clock(start=START):
    """Each read 200 microseconds later: the two auto fields of one insert straddle a
    millisecond boundary, as they sometimes did for real."""
    ticks = (start + datetime.timedelta(microseconds=200 * n) for n in range(1000))
    return mock.patch("django.utils.timezone.now", side_effect=lambda: next(ticks))


def test_a_new_row_is_updated_when_it_is_created():
    with ticking_clock():
        agent = AgentFactory()
    agent.refresh_from_db()
    assert agent.updated_at == agent.created_at


def test_a_later_save_moves_updated_at_only():
    agent = AgentFactory()
    created = agent.created_at
    with ticking_clock(start=created + datetime.timedelta(seconds=1)):
        agent.name = "Renamed"
        agent.save()
    agent.refresh_from_db()
    assert agent.created_at == created and agent.updated_at > created
