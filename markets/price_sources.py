"""What depends on where a market's price comes from (``TradingPair.price_source``).

A ``book`` market is priced by its own trades. Any other source is a price feed: the app that
polls feeds (``feeds``) registers a ``PriceSource`` here in its ``AppConfig.ready``, keyed by the
source names it serves (or ``ANY_FEED`` for every feed without one of its own), so markets and
orders ask this registry and never import the feeds app."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from markets.models import TradingPair

ANY_FEED = "*"


@dataclass(frozen=True, slots=True)
class LatestPrice:
    """A market's newest observation: ``price`` on its grid, ``received_at`` (Redis time),
    ``age_ms`` now minus that, ``source_ts_ms`` the source's own timestamp (if any)."""

    price: Decimal
    received_at: datetime
    age_ms: int
    source_ts_ms: int | None


class PriceSource(Protocol):
    """The behaviour of a feed-priced market."""

    def latest_many(self, pairs: Sequence[TradingPair]) -> dict[str, LatestPrice | None]:
        """The newest observation of each of ``pairs`` (None: none in its window)."""
        ...

    def market_order_price(self, pair: TradingPair) -> Decimal:
        """The price a market order of ``pair`` is valued at; raises a ``DomainError`` (e.g.
        ``StalePrice``) when the market cannot price one now."""
        ...

    def stale_after_ms(self) -> int:
        """Market orders fill against the house at an observation no older than this."""
        ...


_sources: dict[str, PriceSource] = {}


def register(source: PriceSource, *, names: Iterable[str] = (ANY_FEED,)) -> None:
    """Serve the markets whose ``price_source`` is one of ``names`` with ``source``."""
    for name in names:
        if name == TradingPair.BOOK:
            raise ValueError("book markets are priced by their trades, not by a source")
        _sources[name] = source


def source_for(pair: TradingPair) -> PriceSource | None:
    """The source of a feed-priced ``pair``; None for a book market or when no app serves its
    source."""
    if not pair.is_feed_priced:
        return None
    return _sources.get(pair.price_source) or _sources.get(ANY_FEED)


def latest_many(pairs: Sequence[TradingPair]) -> dict[str, LatestPrice | None]:
    """The newest observation of each feed-priced pair among ``pairs`` (book pairs are left
    out), asking each source once for its pairs."""
    by_source: dict[int, tuple[PriceSource, list[TradingPair]]] = {}
    for pair in pairs:
        source = source_for(pair)
        if source is not None:
            by_source.setdefault(id(source), (source, []))[1].append(pair)
    latest: dict[str, LatestPrice | None] = {}
    for source, grouped in by_source.values():
        latest.update(source.latest_many(grouped))
    return latest


def last_price(pair: TradingPair) -> Decimal | None:
    """The newest observed price of a feed-priced ``pair`` (any age); None for a book market,
    an unserved source, or a feed with no observation."""
    latest = latest_many([pair]).get(pair.symbol)
    return None if latest is None else latest.price
