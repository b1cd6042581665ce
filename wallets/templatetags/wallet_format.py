"""``{{ value|amount:asset }}``: a money value with the asset's fixed decimals."""

from __future__ import annotations

from decimal import Decimal

from django import template

from tradehive.money import format_decimal
from wallets.models import Asset

register = template.Library()


@register.filter
def amount(value: Decimal, asset: Asset) -> str:
    return format_decimal(Decimal(value), asset.decimals)
