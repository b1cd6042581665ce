"""Domain errors of markets (codes listed in docs/api.md)."""

from __future__ import annotations

from tradehive.errors import DomainError


class UnknownMarket(DomainError):
    code = "unknown_market"
    status = 404
    default_message = "No such market."


class MarketHalted(DomainError):
    """The market takes no new orders (cancels are still allowed)."""

    code = "market_halted"
    status = 423
    default_message = "The market is halted; new orders are refused."


class MarketCancelOnly(MarketHalted):
    """The market is winding down: only cancels are accepted. A ``MarketHalted`` too, so
    callers that only care whether orders are accepted catch one class."""

    code = "market_cancel_only"
    default_message = "The market accepts cancels only; new orders are refused."


class StalePrice(DomainError):
    """A feed-priced market has no observation within ``FEED_STALE_AFTER_S``: it cannot price
    a market order, so it refuses them until the feed is back."""

    code = "stale_price"
    status = 503
    default_message = "The market's price feed is stale; market orders are paused."
