"""``{{ value|amount:asset }}``: a money value with the asset's fixed decimals, thousands
grouped (``tradehive.money.format_amount``)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from tradehive.money import format_amount
from wallets.models import Asset
from wallets.statements import journal_reference_words

register = template.Library()


@register.filter
def amount(value: Decimal, asset: Asset) -> str:
    return format_amount(Decimal(value), asset.decimals)


@register.filter
def reference_words(reference: str) -> str:
    """A journal's reference in words (``"order:12"`` -> ``"Order #12"``): pages never show
    the internal ``<noun>:<id>`` form."""
    return journal_reference_words(reference)


@register.filter
def estimate(value: Decimal, asset: Asset) -> str:
    """An estimate (a price, a total in another asset) at no more than 2 decimals of ``asset``
    unless it is small: 0.00001234 BTC in KRW still shows its digits."""
    places = asset.decimals
    if abs(value) >= 1:
        places = min(places, 2)
    return format_amount(Decimal(value), places)


@register.filter
def percent(value: Decimal) -> str:
    """A share or return in percent, 2 decimals."""
    return format_amount(Decimal(value), 2)
