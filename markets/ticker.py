"""The 24h rolling ticker: computed from 1m candles plus the trades of the window's first,
partial minute, cached in Redis as ``ticker:{SYMBOL}`` (JSON) and refreshed after every batch of
trades commits (``trades_record``). Best bid/ask are not cached: they come from the order book at
read time through the provider the settlement app registers (``set_book_top_provider``).

Feed-priced markets (docs/feeds.md "Candles and ticker"): ``last`` is the feed's latest
observation (through the market's price source, ``markets.price_sources``, which the feeds app
registers),
open/high/low come from the candles (which follow the feed), volume from trades. The feeds app
keeps the cached ticker moving with the feed (``ticker_with_price``, about once a second)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from markets import price_sources
from markets.intervals import bucket_start
from markets.models import Candle, Interval, Trade, TradingPair
from tradehive.db_router import reads_primary
from tradehive.money import format_decimal, iso_ms
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# A cached ticker older than this is recomputed on read, so trades leave the 24h window on time
# even in a market nobody trades in.
TICKER_TTL_SECONDS = 10
# A feed-priced market's cached ticker is kept on the feed every second by the feeds app
# (last/high/low/change), so its full recompute (open, volume leaving the window) may be rarer.
FEED_TICKER_TTL_SECONDS = 60
MINUTE = timedelta(minutes=1)

BookTop = tuple[Decimal | None, Decimal | None]
BookTopProvider = Callable[[TradingPair], BookTop]
_book_top_provider: BookTopProvider | None = None


def set_book_top_provider(provider: BookTopProvider | None) -> None:
    """Register ``provider(pair) -> (best_bid, best_ask)`` (either may be None for an empty
    side). The settlement app calls this once at start-up; ``None`` unregisters. Without a
    provider, tickers carry ``best_bid``/``best_ask`` null."""
    global _book_top_provider
    _book_top_provider = provider


def _feed_price(pair: TradingPair) -> Decimal | None:
    if not pair.is_feed_priced:
        return None
    try:
        return price_sources.last_price(pair)
    except Exception:  # the feed is optional here: fall back to the candles
        logger.warning("price source failed for %s", pair.symbol, exc_info=True)
        return None


def ticker_key(symbol: str) -> str:
    """With the market's hash tag, like all its keys (one Redis Cluster slot per market)."""
    return f"ticker:{{{symbol}}}"


def ticker_compute(*, pair: TradingPair, now: datetime | None = None) -> dict[str, Any]:
    """The 24h window (now - 24h, now] of ``pair``, formatted for the API (decimal strings).

    With no trade in the window but an older one, open/high/low equal the last price and the
    volumes are 0; with no trade ever, every price is null. A feed-priced market with an
    observation: ``last`` is the observation, open the first full minute's candle open (the
    feed's), high/low the candles' and trades' extremes including ``last``."""
    now = now or timezone.now()
    start = now - WINDOW
    first_full_minute = bucket_start(start, Interval.M1) + MINUTE

    last_candle = (
        Candle.objects.filter(pair=pair, interval=Interval.M1)
        .order_by("-bucket")
        .values_list("close", flat=True)
        .first()
    )
    edge_trades = Trade.objects.filter(
        pair=pair, created_at__gt=start, created_at__lt=first_full_minute
    )
    edge = edge_trades.aggregate(
        high=Max("price"),
        low=Min("price"),
        volume=Sum("quantity"),
        quote_volume=Sum("quote_quantity"),
        count=Count("id"),
    )
    minutes = Candle.objects.filter(pair=pair, interval=Interval.M1, bucket__gte=first_full_minute)
    full = minutes.aggregate(
        high=Max("high"),
        low=Min("low"),
        volume=Sum("volume"),
        quote_volume=Sum("quote_volume"),
        count=Sum("trade_count"),
    )

    open_24h: Decimal | None = None
    if edge["count"]:
        open_24h = edge_trades.order_by("sequence").values_list("price", flat=True).first()
    elif full["count"]:
        open_24h = minutes.order_by("bucket").values_list("open", flat=True).first()

    highs = [v for v in (edge["high"], full["high"]) if v is not None]
    lows = [v for v in (edge["low"], full["low"]) if v is not None]
    volume = (edge["volume"] or Decimal(0)) + (full["volume"] or Decimal(0))
    quote_volume = (edge["quote_volume"] or Decimal(0)) + (full["quote_volume"] or Decimal(0))
    last = last_candle
    feed_last = _feed_price(pair)
    if feed_last is not None:
        last = feed_last
        open_24h = minutes.order_by("bucket").values_list("open", flat=True).first() or last
        high, low = max([*highs, last]), min([*lows, last])
    elif open_24h is None:  # no trade in the window: the price stood still at the last one
        open_24h, high, low = last, last, last
    else:
        high, low = max(highs), min(lows)

    change_pct: Decimal | None = None
    if last is not None and open_24h:
        change_pct = (last - open_24h) / open_24h * 100

    def price(value: Decimal | None) -> str | None:
        return None if value is None else format_decimal(value, pair.price_places)

    return {
        "symbol": pair.symbol,
        "last": price(last),
        "best_bid": None,
        "best_ask": None,
        "open_24h": price(open_24h),
        "high_24h": price(high),
        "low_24h": price(low),
        "volume_24h": format_decimal(volume, pair.quantity_places),
        "quote_volume_24h": format_decimal(quote_volume, pair.quote.decimals),
        "change_24h_pct": None if change_pct is None else format_decimal(change_pct, 2),
        "ts": iso_ms(now),
    }


def ticker_refresh(*, pair: TradingPair) -> dict[str, Any]:
    """Recompute and cache the ticker (called after each committed batch of trades).

    Computed on the primary even inside a ``reads_replica`` read: the cached value outlives
    the request, and one computed from a replica a few milliseconds behind could overwrite the
    refresh of the batch it has not replayed yet, for the cache's whole TTL."""
    with reads_primary():
        ticker = ticker_compute(pair=pair)
    try:
        ttl = FEED_TICKER_TTL_SECONDS if pair.is_feed_priced else TICKER_TTL_SECONDS
        get_redis().set(ticker_key(pair.symbol), json.dumps(ticker), ex=ttl)
    except redis.RedisError:
        logger.warning("ticker cache write failed for %s", pair.symbol, exc_info=True)
    return ticker


def ticker_with_price(
    *,
    ticker: dict[str, Any],
    price: Decimal,
    places: int,
    seen: Sequence[Decimal] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """``ticker`` moved to a new feed price without a database read: ``last`` = ``price``
    (``places`` decimals, the market's price places), high/low widened to it and to the other
    prices ``seen`` since the ticker was computed, the change recomputed from ``open_24h``."""
    moved = dict(ticker)
    open_24h = Decimal(ticker["open_24h"]) if ticker.get("open_24h") is not None else price
    prices = [price, *seen]
    high = max(prices + ([Decimal(ticker["high_24h"])] if ticker.get("high_24h") else []))
    low = min(prices + ([Decimal(ticker["low_24h"])] if ticker.get("low_24h") else []))
    change = (price - open_24h) / open_24h * 100 if open_24h else None
    moved.update(
        {
            "last": format_decimal(price, places),
            "open_24h": format_decimal(open_24h, places),
            "high_24h": format_decimal(high, places),
            "low_24h": format_decimal(low, places),
            "change_24h_pct": None if change is None else format_decimal(change, 2),
            "ts": iso_ms(now or timezone.now()),
            "best_bid": None,
            "best_ask": None,
        }
    )
    return moved


def ticker_store_many(*, tickers: Sequence[dict[str, Any]]) -> None:
    """Overwrite cached tickers in one round trip, only those still cached and keeping their
    expiry (``SET XX KEEPTTL``): the full recompute still happens when it expires, and an
    expired ticker is never revived without a TTL."""
    if not tickers:
        return
    pipe = get_redis().pipeline(transaction=False)
    for ticker in tickers:
        pipe.set(ticker_key(ticker["symbol"]), json.dumps(ticker), xx=True, keepttl=True)
    pipe.execute()


def _with_book_top(pair: TradingPair, ticker: dict[str, Any]) -> dict[str, Any]:
    if _book_top_provider is None:
        return ticker
    try:
        bid, ask = _book_top_provider(pair)
    except Exception:  # the book is optional in a ticker: report it missing, keep the rest
        logger.warning("book top provider failed for %s", pair.symbol, exc_info=True)
        return ticker
    places = pair.price_places
    ticker["best_bid"] = None if bid is None else format_decimal(bid, places)
    ticker["best_ask"] = None if ask is None else format_decimal(ask, places)
    return ticker


def ticker_get_many(*, pairs: Sequence[TradingPair]) -> list[dict[str, Any]]:
    """Tickers of ``pairs`` (in that order): cached ones in one Redis round trip, the missing
    ones recomputed and cached. If Redis is down they are computed from the database."""
    if not pairs:
        return []
    try:
        # One GET per market in a pipeline rather than MGET: on a Redis Cluster the markets'
        # keys lie in different slots (the cluster pipeline sends one batch per node).
        pipe = get_redis().pipeline(transaction=False)
        for pair in pairs:
            pipe.get(ticker_key(pair.symbol))
        cached: list[str | None] = pipe.execute()
    except redis.RedisError:
        logger.warning("ticker cache read failed", exc_info=True)
        cached = [None] * len(pairs)
    tickers = []
    for pair, raw in zip(pairs, cached, strict=True):
        ticker = json.loads(raw) if raw else ticker_refresh(pair=pair)
        tickers.append(_with_book_top(pair, ticker))
    return tickers


def ticker_get(*, pair: TradingPair) -> dict[str, Any]:
    return ticker_get_many(pairs=[pair])[0]
