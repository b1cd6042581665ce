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
