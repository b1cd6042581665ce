"""Cursor pagination in API.md's shape: ``?limit=50&cursor=...`` ->
``{"results": [...], "next": "<cursor or null>"}``. ``next`` is the opaque cursor value to pass
back as ``cursor`` (not a URL), so clients behind proxies never get a wrong host."""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from typing import Any
from urllib.parse import parse_qs, urlparse

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor as CursorPosition
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from tradehive.query_params import single_query_value

# What ``CursorPagination.encode_cursor`` writes: an offset, a reverse flag and a position, the
# last row's ``id`` (a bigint). Anything else was not made by us.
_WHOLE = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1
_CURSOR_KEYS = frozenset({"o", "r", "p"})


def _invalid_cursor() -> ValidationError:
    return ValidationError({"cursor": ["Invalid cursor: pass back a `next` value unchanged."]})


class Cursor(CursorPagination):
    """Newest first by ``-id`` (unique and monotonic, so pages never skip or repeat rows)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    cursor_query_param = "cursor"

    def get_page_size(self, request: Any) -> int:
        raw = single_query_value(request, self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _WHOLE.fullmatch(raw):
            raise ValidationError({"limit": ["Must be a whole number."]})
        value = int(raw)
        if not 1 <= value <= self.max_page_size:
            raise ValidationError({"limit": [f"Must be between 1 and {self.max_page_size}."]})
        return value

    def decode_cursor(self, request: Any) -> CursorPosition | None:
        """The cursor of ``?cursor=``, or None for the first page; anything that is not exactly
        what ``encode_cursor`` writes (base64 of ``o=&r=&p=``, whole numbers, an id in bigint
        range) is 400 ``invalid_input`` on ``cursor``, never a first or empty page."""
        encoded = single_query_value(request, self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except (UnicodeError, binascii.Error, ValueError):
            raise _invalid_cursor() from None
        if (
            not tokens
            or not tokens.keys() <= _CURSOR_KEYS
            or any(len(values) != 1 for values in tokens.values())
        ):
            raise _invalid_cursor()
        offset = tokens.get("o", ["0"])[0]
        reverse = tokens.get("r", ["0"])[0]
        position = tokens.get("p", [None])[0]
        if (
            not _WHOLE.fullmatch(offset)
            or int(offset) > self.offset_cutoff
            or reverse not in ("0", "1")
            or (
                position is not None
                and (not _WHOLE.fullmatch(position) or int(position) > _BIGINT_MAX)
            )
        ):
            raise _invalid_cursor()
        # DRF keeps the position as the text it filters with (the stubs say int).
        return CursorPosition(
            offset=int(offset),
            reverse=reverse == "1",
            position=position,  # type: ignore[arg-type]
        )

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
