"""``{{ "1234567.50"|grouped }}``: a decimal string from the API (a ticker's, an order's) with
its thousands grouped and its decimals kept (``"1,234,567.50"``); "—" for none."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from tradehive.money import format_amount

register = template.Library()


@register.filter
def grouped(value: object) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    _, _, fraction = text.partition(".")
    return format_amount(number, len(fraction))
