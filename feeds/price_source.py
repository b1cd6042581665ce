"""The behaviour of feed-priced markets, registered with ``markets.price_sources`` (by
``FeedsConfig.ready``) for every source name: markets and orders ask it, never this app."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings

from feeds.selectors import feed_latest_many, feed_price_fresh
from markets.models import TradingPair
from markets.price_sources import LatestPrice


class FeedPriceSource:
    """Prices from the Redis price window the feed polls fill (docs/feeds.md)."""

    def latest_many(self, pairs: Sequence[TradingPair]) -> dict[str, LatestPrice | None]:
        return feed_latest_many(pairs=pairs)

    def market_order_price(self, pair: TradingPair) -> Decimal:
        """The latest observation within ``FEED_STALE_AFTER_S``; else ``StalePrice``."""
        return feed_price_fresh(pair=pair)

    def stale_after_ms(self) -> int:
        return int(settings.FEED_STALE_AFTER_S * 1000)
