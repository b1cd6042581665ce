"""Cursor pagination in API.md's shape: ``?limit=50&cursor=...`` ->
``{"results": [...], "next": "<cursor or null>"}``. ``next`` is the opaque cursor value to pass
back as ``cursor`` (not a URL), so clients behind proxies never get a wrong host."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class Cursor(CursorPagination):
    """Newest first by ``-id`` (unique and monotonic, so pages never skip or repeat rows)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    cursor_query_param = "cursor"

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({"limit": ["Must be a whole number."]}) from None
        if not 1 <= value <= self.max_page_size:
            raise ValidationError({"limit": [f"Must be between 1 and {self.max_page_size}."]})
        return value

    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound("Invalid cursor"); that is bad input
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc

    def next_cursor(self) -> str | None:
        link = self.get_next_link()
        if not link:
            return None
        return parse_qs(urlparse(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.next_cursor()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as `cursor` for the next page; null on the last.",
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.page_size}).",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                },
            },
        ]
