"""DRF fields shared by every app's serializers: strict decimal strings, whole numbers, symbols,
query booleans and ms timestamps. Their grammars are ASCII and exact: no surrounding whitespace,
no other scripts' digits, no signs or exponents where the value cannot have them."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tradehive.money import DecimalParseError, format_decimal, iso_ms, parse_decimal


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "0.00120000"})
class DecimalString(serializers.Field):
    """A money value as a JSON string, parsed strictly (see ``tradehive.money.parse_decimal``).

    ``places`` fixes the output to that many decimals; ``max_places`` bounds the input."""

    default_error_messages = {"invalid": "{message}"}

    def __init__(
        self,
        *,
        places: int | None = None,
        max_places: int | None = None,
        allow_zero: bool = False,
        max_value: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        self.places = places
        self.max_places = max_places
        self.allow_zero = allow_zero
        self.max_value = max_value if max_value is not None else Decimal("1e18")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return parse_decimal(
                data,
                max_places=self.max_places,
                allow_zero=self.allow_zero,
                max_value=self.max_value,
            )
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


_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class WholeNumber(serializers.IntegerField):
    """A whole number: a JSON integer, or ASCII digits in a query string (``"10"``; not
    ``" 10"``, ``"+10"``, ``"1_0"``, ``"10.0"`` or Arabic-Indic ``"\u0661\u0660"``, all of
    which ``int()`` takes)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if isinstance(data, str) and _WHOLE_NUMBER.fullmatch(data):
            return int(data)
        self.fail("invalid")
        raise AssertionError  # pragma: no cover - fail() raises


class QueryBoolean(serializers.BooleanField):
    """``true`` or ``false`` (also ``1``/``0``) in a query string; an empty value is an error."""

    _VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data in self._VALUES:
            return self._VALUES[data]
        self.fail("invalid", input=data)
        raise AssertionError  # pragma: no cover - fail() raises


class _AsciiCode(serializers.CharField):
    """ASCII text matched whole by ``grammar`` (``fullmatch``: ``$`` would also match before a
    trailing newline), never trimmed."""

    grammar: re.Pattern[str]
    default_error_messages = {"invalid": "Not a valid {name}."}
    name = "value"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not self.grammar.fullmatch(text):
            self.fail("invalid", name=self.name)
        return text


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z0-9-]{1,21}$", "example": "BTC-KRW"})
class SymbolParam(_AsciiCode):
    """A market symbol (``BTC-KRW``; the case is the selector's business)."""

    grammar = re.compile(r"[A-Za-z0-9-]{1,21}")
    name = "market symbol"


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z0-9]{1,20}$", "example": "BTC"})
class AssetParam(_AsciiCode):
    """An asset symbol (``BTC``)."""

    grammar = re.compile(r"[A-Za-z0-9]{1,20}")
    name = "asset symbol"


class StrictBoolean(serializers.BooleanField):
    """Only JSON ``true``/``false``: ``"yes"``, ``1`` and friends are wrong types here."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # pragma: no cover - fail() raises


class StrictChoice(serializers.ChoiceField):
    """One of ``choices``, as a JSON string only (``1`` is not ``"1"``)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)
