"""Orders and fills on pages, as a trader reads them: prices and quantities at the market's
steps with thousands grouped, type names and statuses in words."""

from __future__ import annotations

from decimal import Decimal

from django import template

from markets.models import TradingPair
from orders.models import Order
from orders.notifications import SHORT_REASONS
from orders.notifications import order_words as words_of
from tradehive.money import format_amount

register = template.Library()

TYPE_NAMES = {
    "limit": "Limit",
    "market": "Market",
    "stop_limit": "Stop-limit",
    "stop_market": "Stop-market",
    "take_profit_limit": "Take-profit limit",
    "take_profit_market": "Take-profit market",
}


def _shown(value: Decimal | None, places: int) -> str:
    return "—" if value is None else format_amount(value, places)


@register.filter
def price(value: Decimal | None, pair: TradingPair) -> str:
    return _shown(value, pair.price_places)


@register.filter
def quantity(value: Decimal | None, pair: TradingPair) -> str:
    return _shown(value, pair.quantity_places)


@register.filter
def quote(value: Decimal | None, pair: TradingPair) -> str:
    return _shown(value, pair.quote.decimals)


@register.filter
def order_type(order: Order) -> str:
    return TYPE_NAMES.get(order.type, order.type)


@register.filter
def order_status(order: Order) -> str:
    """``"rejected (post-only would take)"``, ``"partially filled"``."""
    status = order.status.replace("_", " ")
    reason = SHORT_REASONS.get(order.cancel_reason, "") if order.cancel_reason else ""
    return f"{status} ({reason})" if reason else status


@register.filter
def order_words(order: Order) -> str:
    """``"Buy 5 LPJ at 1,010 KRW"``."""
    return words_of(order)
