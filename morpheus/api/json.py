"""JSON encoding shared by the renderer and plain-Django error responses."""

import datetime
import decimal
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def format_datetime(value: datetime.datetime) -> str:
    """ISO-8601 in UTC with milliseconds and Z, e.g. 2026-02-05T21:30:00.000Z."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class MorpheusJSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            return format_datetime(o)
        if isinstance(o, decimal.Decimal):
            return float(o)
        if isinstance(o, uuid.UUID):
            return str(o)
        return super().default(o)
