"""Lean list output: a page read with `.values()` and renamed to a serializer's fields.

A list of flat rows does not need a model instance per row (and one per joined row) nor a
DRF field call per value: for a serializer whose fields only pass the database value on
(the renderer formats datetimes, UUIDs and decimals), `values_for` reads exactly the
columns the serializer shows (joins included, `llm_provider.name` -> `llm_provider__name`)
and `rows` renames them, with the same output as `serializer(page, many=True).data`.
The serializer stays the documented shape (drf-spectacular reads it).

    page = self.paginate_queryset(values_for(queryset, AgentListItemOutput))
    return self.get_paginated_response(rows(page, AgentListItemOutput))
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.db.models import Field, QuerySet
from rest_framework import serializers

from morpheus.prepared import PreparedRead

# Fields whose to_representation of a database value is the value itself, or what the
# renderer makes of it (DATETIME_FORMAT is None: datetimes leave serializers as objects).
PLAIN_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateTimeField,
    serializers.FloatField,
    serializers.IntegerField,
    serializers.JSONField,  # a decoded JSON column passes as it is (binary=False, the default)
    serializers.UUIDField,
)


@cache
def columns(serializer_class: type[serializers.Serializer[Any]]) -> tuple[tuple[str, str], ...]:
    """(output name, ORM path) per field; TypeError for a field that computes its value."""
    pairs = []
    for name, field in serializer_class().fields.items():
        source = field.source
        if not isinstance(field, PLAIN_FIELDS) or not isinstance(source, str) or source == "*":
            raise TypeError(f"{serializer_class.__name__}.{name} is not a plain field: serialize it instead")
        pairs.append((name, source.replace(".", "__")))
    return tuple(pairs)


def values_for(queryset: QuerySet[Any], serializer_class: type[serializers.Serializer[Any]]) -> QuerySet[Any]:
    """The queryset as dicts of exactly the columns the serializer shows."""
    return queryset.values(*(path for _, path in columns(serializer_class)))


def rows(page: list[dict[str, Any]], serializer_class: type[serializers.Serializer[Any]]) -> list[dict[str, Any]]:
    """Rows of `values_for` under the serializer's field names, in its field order."""
    pairs = columns(serializer_class)
    return [{name: row[path] for name, path in pairs} for row in page]


def values_list_for(queryset: QuerySet[Any], serializer_class: type[serializers.Serializer[Any]]) -> QuerySet[Any]:
    """The queryset as tuples of the serializer's columns, in its field order."""
    return queryset.values_list(*(path for _, path in columns(serializer_class)))


COUNT_TEMPLATE = "SELECT COUNT(*) FROM ({sql}) AS counted"


class PreparedList:
    """A list read through prepared statements (morpheus/prepared.py): the page as
    `values_for` rows of `serializer_class`, and its total, each compiled once per process
    and shape instead of on every request. `build(**values)` is the list's queryset
    (filters, joins, order) for the values of `fields` (see PreparedRead).

        AGENTS = PreparedList(build_agents, AgentListItemOutput, customer_id=Agent._meta.get_field("customer"))
        page = self.paginate_queryset(AGENTS.source(customer_id=customer_id))
        return self.get_paginated_response(page)
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        serializer_class: type[serializers.Serializer[Any]],
        **fields: Field[Any, Any],
    ):
        self._rows = PreparedRead(
            lambda start, stop, **values: values_list_for(build(**values), serializer_class)[start:stop], **fields
        )
        # Only the keys: no joins and no order to count.
        self._ids = PreparedRead(lambda **values: build(**values).order_by().values_list("pk"), **fields)
        self._names = [name for name, _ in columns(serializer_class)]

    def source(self, **values: Any) -> PreparedPageSource:
        return PreparedPageSource(self, values)

    def count(self, values: dict[str, Any]) -> int:
        return int(self._ids.wrapped(COUNT_TEMPLATE, **values)[0][0])

    def page(self, values: dict[str, Any], start: int, stop: int) -> list[dict[str, Any]]:
        found = self._rows.rows(shape={"start": start, "stop": stop}, **values)
        return [dict(zip(self._names, row, strict=True)) for row in found]


class PreparedPageSource:
    """What PagePagination asks of a queryset (`count()`, a slice), for one list's values."""

    def __init__(self, prepared: PreparedList, values: dict[str, Any]):
        self._prepared = prepared
        self._values = values

    def count(self) -> int:
        return self._prepared.count(self._values)

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return self._prepared.page(self._values, window.start, window.stop)
