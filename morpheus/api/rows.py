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

from functools import cache
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

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
