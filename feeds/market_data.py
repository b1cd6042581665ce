"""Market data of feed-priced markets: candles rolled from the price windows
(``feed_candles_roll``) and cached tickers kept on the feed (``feed_tickers_refresh``)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.keys import feed_stats_key, prices_key
from feeds.runs import durations_record, exclusive_run, text_of
from feeds.selectors import feed_market_list
from markets.candles import CandleDelta, candles_apply_many, feed_candle_deltas
from markets.models import TradingPair
from markets.publish import publish_candles
from markets.ticker import ticker_key, ticker_refresh, ticker_store_many, ticker_with_price
from tradehive.money import decimal_places
from tradehive.push import tickers_mark_dirty
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


CANDLES_LOCK_KEY = "feeds:candles:lock"


CANDLES_STATS_KEY = "feeds:candles:stats"


CANDLES_DURATIONS_KEY = "feeds:candles:durations_us"


CANDLES_CURSOR_FIELD = "candles_cursor"  # in feedstats:{S}: the last window entry rolled


TICKERS_LOCK_KEY = "feeds:tickers:lock"


TICKERS_DURATIONS_KEY = "feeds:tickers:durations_us"


def _window_price(fields: dict[Any, Any], tick_size: Decimal) -> Decimal:
    """The price of a window entry (field ``p``, in ticks)."""
    ticks = fields.get(b"p", fields.get("p"))
    return int(text_of(ticks)) * tick_size


@dataclass
class CandleRollOutcome:
    skipped: bool = False
    markets: int = 0
    observations: int = 0
    rows: int = 0
    pushed: int = 0  # candles messages sent to listened channels
    duration_us: int = 0


def feed_candles_roll(
    *, symbols: Sequence[str] | None = None, limit: int = 1000
) -> CandleRollOutcome:
    """Roll the observations of every feed-priced market's price window (or ``symbols``') since
    its cursor into its candles: one upsert row per touched (market, interval, bucket), 500
    rows a statement, OHLC only (volume comes from trades). Beat runs it every
    ``FEED_CANDLE_INTERVAL_S`` on the default queue; skip-if-running.

    Each observation is rolled once: the cursor (``feedstats:{S}`` ``candles_cursor``) moves
    past it after its rows are written. Should a run die between the two, the next one re-rolls
    those observations, which changes nothing: OHLC merges are idempotent and add no volume."""
    started = time.perf_counter()
    outcome = CandleRollOutcome()
    client = get_redis()
    with exclusive_run(client, CANDLES_LOCK_KEY, stats_key=CANDLES_STATS_KEY) as held:
        if not held:
            outcome.skipped = True
            return outcome
        markets = [m for m in feed_market_list() if symbols is None or m.symbol in symbols]
        if not markets:
            return outcome
        pipe = client.pipeline(transaction=False)
        for market in markets:
            pipe.hget(feed_stats_key(market.symbol), CANDLES_CURSOR_FIELD)
        cursors = [text_of(c) if c else None for c in pipe.execute()]
        pipe = client.pipeline(transaction=False)
        for market, cursor in zip(markets, cursors, strict=True):
            pipe.xrange(prices_key(market.symbol), min=f"({cursor}" if cursor else "-", count=limit)
        windows = pipe.execute()
        ids = dict(
            TradingPair.objects.filter(symbol__in=[m.symbol for m in markets]).values_list(
                "symbol", "pk"
            )
        )
        rows: list[tuple[int, CandleDelta]] = []
        moved: dict[str, str] = {}
        changed: dict[str, dict[str, datetime]] = {}
        for market, entries in zip(markets, windows, strict=True):
            if not entries or market.symbol not in ids:
                continue
            observations = [
                (text_of(entry_id), _window_price(fields, market.tick_size))
                for entry_id, fields in entries
            ]
            deltas = feed_candle_deltas(observations)
            rows += [(ids[market.symbol], d) for d in deltas]
            since = changed.setdefault(market.symbol, {})
            for delta in deltas:
                if delta.interval not in since or delta.bucket < since[delta.interval]:
                    since[delta.interval] = delta.bucket
            moved[market.symbol] = observations[-1][0]
            outcome.markets += 1
            outcome.observations += len(observations)
        candles_apply_many(rows=rows)  # autocommit: each statement is atomic, rows re-appliable
        outcome.rows = len(rows)
        pipe = client.pipeline(transaction=False)
        for symbol, entry_id in moved.items():
            pipe.hset(feed_stats_key(symbol), CANDLES_CURSOR_FIELD, entry_id)
        pipe.hincrby(CANDLES_STATS_KEY, "runs", 1)
        pipe.execute()
        # Live charts: the changed candles go to whoever watches them (feed markets' candles
        # move with the window, not with trades, so settlement does not push them).
        outcome.pushed = publish_candles(since_by_symbol=changed)
        outcome.duration_us = int((time.perf_counter() - started) * 1e6)
        durations_record(client, CANDLES_DURATIONS_KEY, outcome.duration_us)
        return outcome


@dataclass
class TickerRefreshOutcome:
    skipped: bool = False
    moved: list[str] = field(default_factory=list)
    recomputed: list[str] = field(default_factory=list)
    duration_us: int = 0


# Full recomputes per refresh run (~3 ms each on PostgreSQL): bounds a run after a cold start
# (500 missing tickers) and spreads expiries out; readers recompute a missing one themselves.
TICKER_RECOMPUTES_PER_RUN = 50


# Newest window entries a refresh reads per market (2 s at 4 polls/s: two refresh periods), and
# how far before the cached ticker's time they count for high/low (the candles a recompute read
# lag up to one roll, 2 s). Reading 32 entries instead cost 16,000 parsed entries a run at 500
# markets (~80 ms more).
TICKER_RECENT_ENTRIES = 8


TICKER_OVERLAP_MS = 2500


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def feed_tickers_refresh(*, symbols: Sequence[str] | None = None) -> TickerRefreshOutcome:
    """Keep the cached tickers (``ticker:{S}``) of feed-priced markets on the feed: a cached
    ticker whose ``last`` differs from the newest observation is moved to it in Redis (no
    database read: ``ticker_with_price``); a missing one (expired after
    ``FEED_TICKER_TTL_SECONDS``) is recomputed from the candles, at most
    ``TICKER_RECOMPUTES_PER_RUN`` a run. Every changed market is marked
    for the websocket ticker push (the coalescer throttles it). Beat runs it every
    ``FEED_TICKER_INTERVAL_S`` (1 s): at most one refresh a second per market."""

    started = time.perf_counter()
    outcome = TickerRefreshOutcome()
    client = get_redis()
    with exclusive_run(client, TICKERS_LOCK_KEY) as held:
        if not held:
            outcome.skipped = True
            return outcome
        markets = [m for m in feed_market_list() if symbols is None or m.symbol in symbols]
        if not markets:
            return outcome
        pipe = client.pipeline(transaction=False)
        for market in markets:
            pipe.xrevrange(prices_key(market.symbol), count=TICKER_RECENT_ENTRIES)
        for market in markets:  # GETs, not MGET: markets lie in different cluster slots
            pipe.get(ticker_key(market.symbol))
        answers = pipe.execute()
        moved = []
        count = len(markets)
        for market, entries, raw in zip(markets, answers[:count], answers[count:], strict=True):
            if not entries:
                continue
            price = _window_price(entries[0][1], market.tick_size)
            if raw is None:
                if len(outcome.recomputed) < TICKER_RECOMPUTES_PER_RUN:
                    outcome.recomputed.append(market.symbol)
                continue
            ticker = json.loads(raw)
            if ticker.get("last") is not None and Decimal(ticker["last"]) == price:
                continue
            # Prices since shortly before the ticker's time (its candles lag up to one roll)
            # widen high/low, so they never miss an extreme the chart shows.
            since_ms = _iso_ms(ticker["ts"]) - TICKER_OVERLAP_MS
            seen = [
                _window_price(fields, market.tick_size)
                for entry_id, fields in entries
                if int(text_of(entry_id).split("-")[0]) >= since_ms
            ]
            moved.append(
                ticker_with_price(
                    ticker=ticker, price=price, seen=seen, places=decimal_places(market.tick_size)
                )
            )
            outcome.moved.append(market.symbol)
        ticker_store_many(tickers=moved)
        if outcome.recomputed:
            for pair in TradingPair.objects.select_related("base", "quote").filter(
                symbol__in=outcome.recomputed
            ):
                ticker_refresh(pair=pair)
        changed = outcome.moved + outcome.recomputed
        if changed:
            tickers_mark_dirty(symbols=changed, client=client)
        outcome.duration_us = int((time.perf_counter() - started) * 1e6)
        durations_record(client, TICKERS_DURATIONS_KEY, outcome.duration_us)
        return outcome
