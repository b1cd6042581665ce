"""Reads of price feeds: which markets each source prices, and their latest observations."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from engine.keys import prices_key
from feeds.sources import FeedMarket
from markets.errors import StalePrice
from markets.models import TradingPair
from markets.price_sources import LatestPrice
from tradehive.redis_client import get_redis

_MARKETS_TTL_S = 1.0
_markets_cache: dict[str | None, tuple[float, list[FeedMarket]]] = {}


def feed_market_list(*, source: str | None = None, fresh: bool = False) -> list[FeedMarket]:
    """Active-or-not feed-priced markets (of ``source`` when given), by symbol. Cached for one
    second per process: the poll runs four times a second and markets rarely change."""
    now = time.monotonic()
    cached = _markets_cache.get(source)
    if not fresh and cached is not None and now - cached[0] < _MARKETS_TTL_S:
        return cached[1]
    pairs = TradingPair.objects.exclude(price_source=TradingPair.BOOK)
    if source is not None:
        pairs = pairs.filter(price_source=source)
    markets = [
        FeedMarket(symbol=symbol, base=base, quote=quote, tick_size=tick, feed_symbol=feed_symbol)
        for symbol, base, quote, tick, feed_symbol in pairs.order_by("symbol").values_list(
            "symbol", "base__symbol", "quote__symbol", "tick_size", "feed_symbol"
        )
    ]
    _markets_cache[source] = (now, markets)
    return markets


def feed_market_cache_clear() -> None:
    _markets_cache.clear()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def feed_latest_many(*, pairs: Sequence[TradingPair]) -> dict[str, LatestPrice | None]:
    """The newest observation of each feed-priced pair (book pairs are left out); None for a
    feed market with no observation in its window. One Redis round trip."""
    feed_pairs = [p for p in pairs if p.is_feed_priced]
    if not feed_pairs:
        return {}
    client = get_redis()
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for pair in feed_pairs:
        pipe.xrevrange(prices_key(pair.symbol), count=1)
    answers = pipe.execute()
    seconds, micros = answers[0]
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    latest: dict[str, LatestPrice | None] = {}
    for pair, entries in zip(feed_pairs, answers[1:], strict=True):
        if not entries:
            latest[pair.symbol] = None
            continue
        entry_id, fields = entries[0]
        fields = {_text(k): _text(v) for k, v in fields.items()}
        received_ms = int(_text(entry_id).split("-")[0])
        latest[pair.symbol] = LatestPrice(
            price=int(fields["p"]) * pair.tick_size,
            received_at=datetime.fromtimestamp(received_ms / 1000, tz=UTC),
            age_ms=max(0, now_ms - received_ms),
            source_ts_ms=int(fields["src"]) if fields.get("src") else None,
        )
    return latest


def feed_price_fresh(*, pair: TradingPair) -> Decimal:
    """The latest observed price of a feed-priced ``pair``, if no older than
    ``FEED_STALE_AFTER_S``; else ``StalePrice``."""
    latest = feed_latest_many(pairs=[pair]).get(pair.symbol)
    if latest is None or latest.age_ms > settings.FEED_STALE_AFTER_S * 1000:
        raise StalePrice()
    return latest.price


def feed_age_ms() -> tuple[int | None, bool]:
    """(age of the stalest feed-priced market's newest observation in ms, stale?).

    Age None: no feed-priced markets, or one was never observed (then stale is True). Stale:
    some market's newest observation is older than ``FEED_STALE_AFTER_S``."""
    pairs = list(
        TradingPair.objects.exclude(price_source=TradingPair.BOOK).select_related("base", "quote")
    )
    if not pairs:
        return None, False
    latest = feed_latest_many(pairs=pairs)
    ages = [v.age_ms for v in latest.values() if v is not None]
    if len(ages) < len(latest):
        return None, True
    age = max(ages)
    return age, age > settings.FEED_STALE_AFTER_S * 1000
