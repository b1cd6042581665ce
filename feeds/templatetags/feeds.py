"""``{% feed_status pair as feed %}``: a feed market's newest observation for its page
(``feed.latest``: a ``LatestPrice`` or None; ``feed.price``: its price in the market's places,
thousands grouped; ``feed.stale``: market orders are refused)."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from feeds.selectors import feed_latest_many
from markets.models import TradingPair
from tradehive.money import format_amount

register = template.Library()


@register.simple_tag
def feed_status(pair: TradingPair) -> dict[str, Any]:
    latest = feed_latest_many(pairs=[pair]).get(pair.symbol)
    stale = latest is None or latest.age_ms > settings.FEED_STALE_AFTER_S * 1000
    price = None if latest is None else format_amount(latest.price, pair.price_places)
    return {"latest": latest, "price": price, "stale": stale}
