"""DRF fields shared by every app's serializers: strict decimal strings and ms timestamps."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tradehive.money import DecimalParseError, format_decimal, iso_ms, parse_decimal


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d+)?$", "example": "0.00120000"})
class DecimalString(serializers.Field):
    """A money value as a JSON string, parsed strictly (see ``tradehive.money.parse_decimal``).

    ``places`` fixes the output to that many decimals; ``max_places`` bounds the input."""

    default_error_messages = {"invalid": "{message}"}

    def __init__(self, *, places: int | None = None, max_places: int | None = None,
                 allow_zero: bool = False, max_value: Decimal | None = None, **kwargs: Any) -> None:
        self.places = places
        self.max_places = max_places
        self.allow_zero = allow_zero
        self.max_value = max_value if max_value is not None else Decimal("1e18")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return parse_decimal(data, max_places=self.max_places, allow_zero=self.allow_zero,
                                 max_value=self.max_value)
        except DecimalParseError as exc:
            self.fail("invalid", message=str(exc))
            raise  # pragma: no cover - fail() raises

    def to_representation(self, value: Decimal) -> str:
        return format_decimal(Decimal(value), self.places)


@extend_schema_field(OpenApiTypes.DATETIME)
class Timestamp(serializers.Field):
    """Read-only ISO 8601 UTC timestamp with milliseconds."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: datetime) -> str:
        return iso_ms(value)
