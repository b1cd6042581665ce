"""The one reader of JSON that comes from outside: REST request bodies (``StrictJSONParser``,
DRF's only parser) and websocket messages (``realtime.protocol``) both go through
``json_loads_strict``.

What it refuses, and why:
- nesting deeper than ``MAX_JSON_DEPTH``: Python's decoder recurses, so 4 KB of ``[[[[`` is a
  RecursionError; no body of the API nests more than a few levels;
- duplicate keys: with "last wins", ``{"amount": "-5", "amount": "7"}`` means what a proxy or a
  log that keeps the first value does not;
- ``NaN``, ``Infinity`` and numbers that overflow to infinity (``1e500``): not JSON (RFC 8259);
- NUL and lone surrogates in any string or key: PostgreSQL cannot store them, and no name,
  address or code of the exchange contains them."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32

# A JSON string literal (escapes included); removed before brackets are counted.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONInputError(ValueError):
    """The text is not JSON this service accepts; the message says why."""


def json_loads_strict(text: str | bytes) -> Any:
    """Parse JSON text strictly (see the module docstring); raises ``JSONInputError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONInputError("The body is not UTF-8.") from None
    _check_depth(text)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except JSONInputError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, ints over 4300 digits
        raise JSONInputError(f"Invalid JSON: {exc}") from None
    for string in _strings(value):
        if _UNSTORABLE.search(string):
            raise JSONInputError("Strings must not contain NUL characters or lone surrogates.")
    return value


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return  # cannot nest deeper than the brackets it has
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise JSONInputError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        else:
            depth -= 1


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONInputError(f"Duplicate key {key[:40]!r}.")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON value.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"The number {text[:40]} is out of range.")
    return value


def _strings(value: Any) -> Iterator[str]:
    """Every string and object key in ``value`` (depth is already bounded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with ``json_loads_strict``: every refusal is a 400
    ``malformed_request``."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = stream.read()
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"JSON parse error - the body is not {encoding}.") from None
        try:
            return json_loads_strict(text)
        except JSONInputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
