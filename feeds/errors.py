"""Domain errors of price feeds (codes listed in docs/api.md)."""

from __future__ import annotations

from tradehive.errors import DomainError


class StalePrice(DomainError):
    """A feed-priced market has no observation within ``FEED_STALE_AFTER_S``: it cannot price
    a market order, so it refuses them until the feed is back."""

    code = "stale_price"
    status = 503
    default_message = "The market's price feed is stale; market orders are paused."


class SourceUnavailable(RuntimeError):
    """A price source failed after its retries (the poll of that source records it and ends)."""
