"""Numbers on the copy-trading pages as people read them: ``{{ "1234567.5"|grouped }}`` ->
``1,234,567.5``; ``{{ "0.12"|percent }}`` -> ``12%``. The API keeps plain decimal strings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@register.filter
def grouped(value: object) -> str:
    """A decimal string with thousands separators, its decimals as they are."""
    number = _decimal(value)
    return "" if number is None else f"{number:,f}"


@register.filter
def percent(value: object) -> str:
    """A fraction as a percentage: 0.12 -> 12%, 0.005 -> 0.5%."""
    number = _decimal(value)
    return "" if number is None else f"{(number * 100).normalize():f}%"


@register.filter
def when(value: object) -> str:
    """An API timestamp (``2026-12-05T05:46:47.683Z``) as ``2026-12-05 05:46:47 UTC``."""
    text = str(value or "")
    return f"{text[:10]} {text[11:19]} UTC" if len(text) >= 19 else text
