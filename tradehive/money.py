"""Decimal money at the boundary: strict parsing of decimal strings and fixed-precision output.

Money is ``Decimal`` end to end; nothing here ever touches a float."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# The one grammar of an amount, price or quantity: ASCII ``[0-9]+(\.[0-9]+)?``, matched whole.
# No sign, exponent, NaN/Infinity, whitespace (``" 100 "``, ``"100\n"``) or digits of other
# scripts (``"1\u0660\u0660"``; ``\d`` and ``Decimal()`` take those).
DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MAX_DIGITS = 38  # the widest NumericField in the schema is (38, 18)
# Longer text cannot be a value of at most MAX_DIGITS significant digits worth reading.
MAX_DECIMAL_CHARS = 80


class DecimalParseError(ValueError):
    """Raised with a human-readable message when a string is not a finite positive decimal."""


def parse_decimal(
    raw: object,
    *,
    max_places: int | None = None,
    allow_zero: bool = False,
    max_value: Decimal | None = None,
) -> Decimal:
    """Parse a decimal string strictly.

    Accepts exactly ``DECIMAL_RE``. Rejects JSON numbers (they were floats before we saw them),
    signs, exponents, NaN, Infinity, whitespace, non-ASCII digits, values with more than
    ``max_places`` decimals, zero (unless ``allow_zero``) and values above ``max_value``."""
    if not isinstance(raw, str):
        raise DecimalParseError('Must be a decimal string, e.g. "0.0012".')
    if len(raw) > MAX_DECIMAL_CHARS:
        raise DecimalParseError("Too many digits.")
    if not DECIMAL_RE.fullmatch(raw):
        raise DecimalParseError('Must be a plain positive decimal string, e.g. "0.0012".')
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise DecimalParseError("Not a decimal number.") from None
    if len(value.as_tuple().digits) > MAX_DIGITS:
        raise DecimalParseError("Too many digits.")
    if value == 0 and not allow_zero:
        raise DecimalParseError("Must be greater than zero.")
    if max_places is not None and decimal_places(value) > max_places:
        raise DecimalParseError(f"At most {max_places} decimal places are allowed.")
    if max_value is not None and value > max_value:
        raise DecimalParseError(f"Must be at most {format_decimal(max_value)}.")
    return value


def decimal_places(value: Decimal) -> int:
    """Decimal places actually used (trailing zeros do not count): 1.2300 -> 2."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def format_decimal(value: Decimal, places: int | None = None) -> str:
    """A decimal string without exponent; with ``places``, exactly that many decimals."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
        return f"{value:f}"
    text = f"{value.normalize():f}"
    return text


def format_amount(value: Decimal, places: int | None = None) -> str:
    """What a person reads: ``format_decimal`` with the digits grouped by thousands
    (``1234567.5`` at 2 places -> ``"1,234,567.50"``). For pages, messages and notifications;
    the API's strings stay ungrouped."""
    text = format_decimal(value, places)
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


# A typed amount may group its whole digits by thousands with commas ("1,000", "12,345.67"):
# the way people write amounts. The grouping must be regular ("1,00" is a typo, not 100).
TYPED_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")


def parse_typed_amount(raw: object, **options: Any) -> Decimal:
    """An amount a person typed into a web form: ``parse_decimal``'s grammar, also with
    thousands grouped by commas (``TYPED_GROUPED_RE``). The one rule of every web form (the
    wallet's and the order form's, whose script applies the same pattern); the API's JSON
    strings stay strict."""
    if isinstance(raw, str) and TYPED_GROUPED_RE.fullmatch(raw):
        raw = raw.replace(",", "")
    return parse_decimal(raw, **options)


def iso_ms(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-21T09:00:00.123Z (API.md)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
