"""Input parsing for views: one call instead of build, validate, read."""

from typing import Any

from rest_framework.serializers import BaseSerializer


def validated(serializer_class: type[BaseSerializer[Any]], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """What `serializer_class` accepts of `data` (a body or a query string); anything else
    raises, and the exception handler answers the 400 naming each refused field."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
