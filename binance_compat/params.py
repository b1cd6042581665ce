"""Binance's parameters, read strictly: from the query string and (for POST) an
``application/x-www-form-urlencoded`` body, each name at most once across both.

What a parameter may be follows Binance's grammar and codes: a decimal is
``tradehive.money.parse_decimal``'s grammar (ASCII digits, one point; no sign, exponent, NaN,
Infinity or other scripts' digits) else -1100; a missing or empty mandatory parameter is -1102;
a name given twice is -1101; text with control or non-ASCII characters is -1100."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from binance_compat.errors import (
    ILLEGAL_CHARS,
    TOO_MANY_PARAMETERS,
    BinanceError,
    invalid_parameter,
    mandatory,
)
from tradehive.money import DecimalParseError, parse_decimal

# The most parameters any endpoint reads, with room for what clients add (recvWindow, ...).
MAX_PARAMS = 40
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_WHOLE = re.compile(r"[0-9]{1,19}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
DECIMAL_GRAMMAR = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"


class FormParser(BaseParser):
    """``application/x-www-form-urlencoded`` bodies as a ``MultiValueDict``, duplicates kept
    (``Params`` refuses them). UTF-8 only."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> MultiValueDict[str, str]:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8.") from None
        values: MultiValueDict[str, str] = MultiValueDict()
        try:
            pairs = parse_qsl(
                text, keep_blank_values=True, max_num_fields=MAX_PARAMS, errors="strict"
            )
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8.") from None
        except ValueError:
            raise ParseError("Too many parameters sent.") from None
        for name, value in pairs:
            values.appendlist(name, value)
        return values


class Params:
    """The request's parameters; each accessor raises ``BinanceError`` in Binance's words."""

    def __init__(self, request: Request) -> None:
        pairs: list[tuple[str, str]] = []
        try:
            pairs += parse_qsl(
                request._request.META.get("QUERY_STRING", ""),
                keep_blank_values=True,
                max_num_fields=MAX_PARAMS,
                errors="strict",
            )
        except UnicodeDecodeError:
            raise BinanceError(ILLEGAL_CHARS, "Illegal characters found in a parameter.") from None
        except ValueError:
            raise BinanceError(TOO_MANY_PARAMETERS, "Too many parameters sent.") from None
        if request.method not in ("GET", "HEAD", "DELETE"):
            body = request.data  # FormParser's MultiValueDict (empty without a body)
            if isinstance(body, MultiValueDict):
                pairs += [(name, value) for name, values in body.lists() for value in values]
        values: dict[str, str] = {}
        for name, value in pairs:
            if name in values:
                raise BinanceError(
                    TOO_MANY_PARAMETERS, "Duplicate values for a parameter detected."
                )
            values[name] = value
        self.values = values

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, required: bool = False, max_length: int = 100) -> str | None:
        """The raw text of ``name`` (printable ASCII, at most ``max_length``); None when absent.
        Empty counts as absent for a required parameter (Binance's -1102)."""
        value = self.values.get(name)
        if value is None or (value == "" and required):
            if required:
                raise mandatory(name)
            return None
        if len(value) > max_length or not _PRINTABLE_ASCII.fullmatch(value):
            raise BinanceError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'.")
        return value

    def required(self, name: str, *, max_length: int = 100) -> str:
        value = self.text(name, required=True, max_length=max_length)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        text = self.text(name, required=required)
        if text is None:
            return None
        try:
            return parse_decimal(text)
        except DecimalParseError:
            raise BinanceError(
                ILLEGAL_CHARS,
                f"Illegal characters found in parameter '{name}'; "
                f"legal range is '{DECIMAL_GRAMMAR}'.",
            ) from None

    def integer(
        self, name: str, *, low: int = 0, high: int = 2**63 - 1, default: int | None = None
    ) -> int | None:
        text = self.text(name)
        if text is None:
            return default
        if not _WHOLE.fullmatch(text):
            raise BinanceError(
                ILLEGAL_CHARS,
                f"Illegal characters found in parameter '{name}'; "
                "legal range is '^[0-9]{1,19}$'.",
            )
        value = int(text)
        if not low <= value <= high:
            raise invalid_parameter(name)
        return value

    def limit(self, *, default: int, maximum: int) -> int:
        """Binance's ``limit``: 1..``maximum`` (a larger one is cut to it, as Binance does)."""
        value = self.integer("limit", low=1, default=default)
        assert value is not None
        return min(value, maximum)

    def time(self, name: str) -> datetime | None:
        """Epoch milliseconds as an aware datetime."""
        value = self.integer(name, high=_MAX_EPOCH_MS)
        return None if value is None else _EPOCH + timedelta(milliseconds=value)

    def choice(self, name: str, choices: Mapping[str, Any], error: BinanceError) -> Any:
        """The value ``choices`` maps the parameter's text to; ``error`` for any other text.
        Absent: None."""
        text = self.text(name)
        if text is None:
            return None
        if text not in choices:
            raise error
        return choices[text]

    def symbol_list(self) -> list[str] | None:
        """``symbols=["LPJKRW","BTCKRW"]`` (a JSON list of strings, as ccxt sends it)."""
        text = self.text("symbols", max_length=4000)
        if text is None:
            return None
        try:
            symbols = json.loads(text)
        except ValueError:
            raise invalid_parameter("symbols") from None
        if (
            not isinstance(symbols, list)
            or not symbols
            or len(symbols) > 100
            or not all(isinstance(s, str) for s in symbols)
        ):
            raise invalid_parameter("symbols")
        return symbols
