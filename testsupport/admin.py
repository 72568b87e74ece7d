"""Helpers for the Django admin tests (the `admin_client` fixture is in conftest.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from morpheus.errors import Conflict


def form_errors(response) -> dict[str, list[str]]:
    """The change form's errors by field, from a page the admin rendered again."""
    return {field: list(errors) for field, errors in response.context["adminform"].form.errors.items()}


def assert_changelist_queries_constant(client, changelist: str, add_rows) -> None:
    """The changelist costs as many queries with many rows as with few (no query per row):
    `add_rows(count)` adds rows that show every relation the list displays."""
    add_rows(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(changelist).status_code == 200
    add_rows(15)
    with CaptureQueriesContext(connection) as many:
        assert client.get(changelist).status_code == 200
    assert len(many) == len(few)


def run_action(client, changelist: str, action: str, *rows) -> list[tuple[str, str]]:
    """Runs a changelist action on `rows` and returns the messages, (level, text), of the
    page it redirects to: what an action tells the admin is what its tests check."""
    form = {"action": action, "_selected_action": [str(row.pk) for row in rows]}
    response = client.post(changelist, form, follow=True)
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def assert_refused_unchanged(action, row, message: str) -> None:
    """`action()` (a platform admin action on `row`) is refused with the Conflict `message`
    and writes nothing: the row's `updated_at` stays where it was."""
    model = type(row)
    before = model.objects.get(pk=row.pk).updated_at
    with pytest.raises(Conflict, match=message):
        action()
    assert model.objects.get(pk=row.pk).updated_at == before
