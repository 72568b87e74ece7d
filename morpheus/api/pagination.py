"""The one pagination for every list: ?page=&limit= in, {<items>, pagination} out."""

import math
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


class PageQuery(serializers.Serializer[Any]):
    page = serializers.IntegerField(min_value=1, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


class PagePagination(BasePagination):
    """Page-number pagination; a page past the end is an empty list, not an error.

    `total` is the queryset's COUNT(*) unless the view has `counted_total()` returning an
    exact count it keeps cheaper (GET /calls: calls.CallCounter); None means "count rows".
    """

    items_key = "items"

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        query = PageQuery(data={k: v for k, v in request.query_params.items() if k in ("page", "limit")})
        query.is_valid(raise_exception=True)
        self.page = query.validated_data["page"]
        self.limit = query.validated_data["limit"]
        self.items_key = getattr(view, "list_key", None) or self.items_key
        counted_total = getattr(view, "counted_total", None)
        total = counted_total() if counted_total is not None else None
        self.total = total if total is not None else queryset.count()
        offset = (self.page - 1) * self.limit
        if offset >= self.total:
            return []
        return list(queryset[offset : offset + self.limit])

    def get_paginated_data(self, data: Any) -> dict[str, Any]:
        return {
            self.items_key: data,
            "pagination": {
                "page": self.page,
                "limit": self.limit,
                "total": self.total,
                "totalPages": math.ceil(self.total / self.limit) if self.total else 0,
            },
        }

    def get_paginated_response(self, data: Any) -> Response:
        return Response(self.get_paginated_data(data))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Items per page, 1 to {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [self.items_key, "pagination"],
            "properties": {
                self.items_key: schema,
                "pagination": {
                    "type": "object",
                    "properties": {
                        "page": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "total": {"type": "integer"},
                        "totalPages": {"type": "integer"},
                    },
                },
            },
        }
