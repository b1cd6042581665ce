"""Price feed writes: poll a source into the price windows, run matching passes, fund the house.

Cadence (docs/feeds.md): Celery beat sends ``feeds.tasks.poll_source`` per source every 0.25 s
and ``feeds.tasks.match_markets`` every 0.5 s, each with ``expires`` = its interval, to the
``feeds`` and ``feeds-match`` queues. Each run is skip-if-running (``_exclusive``): it takes a
Redis lock (``SET NX PX``) and returns
at once when the previous run still holds it, so a slow run never piles up behind itself. A
matching pass also takes a lock per market (``feedlock:{S}``) around the market's fill +
trigger work: taken inside ``feed_fill.lua`` only when the window crosses parked stops (the
fills themselves are one atomic script call; the triggers that follow are further calls), so
no two passes (beat, a manual run, a bench) interleave on one market."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from engine.engine import EngineStateMissing, FeedPass, PriceObservation
from engine.keys import feed_lock_key, feed_stats_key, prices_key
from engine.runtime import get_engine
from engine.units import MAX_ENGINE_INT
from feeds.errors import SourceUnavailable
from feeds.selectors import feed_market_list
from feeds.sources import (
    HTTP_SOURCES,
    FeedMarket,
    PriceSource,
    Quote,
    SimParams,
    SimSource,
)
from markets.candles import CandleDelta, candles_apply_many, feed_candle_deltas
from markets.models import TradingPair
from markets.publish import publish_candles
from markets.ticker import ticker_key, ticker_refresh, ticker_store_many, ticker_with_price
from tradehive.money import decimal_places
from tradehive.push import tickers_mark_dirty
from tradehive.redis_client import get_redis
from wallets.models import Account, Asset, JournalTransaction
from wallets.selectors import balance_get
from wallets.services import wallet_credit, wallet_system_account

logger = logging.getLogger(__name__)

MATCH_LOCK_KEY = "feeds:match:lock"
MATCH_STATS_KEY = "feeds:match:stats"
MATCH_DURATIONS_KEY = "feeds:match:durations_us"
DURATIONS_KEPT = 2000
# A lock outlives a run by far (runs take milliseconds) yet frees itself after a crash.
LOCK_MS = 5000

# Compare-and-delete: release a lock only if this run still owns it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def source_stats_key(name: str) -> str:
    return f"feeds:source:{name}"


# --- sources ---

def _sim_params(symbol: str) -> SimParams:
    config: dict[str, Any] = settings.FEED_SIM
    market = config.get("markets", {}).get(symbol, {})
    start = market.get("start")
    if start is None:
        # Unconfigured markets start at default_start_ticks ticks (the tick from the DB).
        tick = TradingPair.objects.filter(symbol=symbol).values_list("tick_size", flat=True)
        start = Decimal(config["default_start_ticks"]) * (tick.first() or Decimal(1))
    return SimParams(start=Decimal(str(start)),
                     drift=Decimal(str(market.get("drift", config["drift"]))),
                     volatility=Decimal(str(market.get("volatility", config["volatility"]))))


@cache
def _sim_params_cached(symbol: str) -> SimParams:
    return _sim_params(symbol)


@cache
def source_get(name: str) -> PriceSource:
    """The process's source named ``name`` (from settings ``FEED_SIM`` / ``FEED_SOURCES``)."""
    if name == "sim":
        sim: dict[str, Any] = settings.FEED_SIM
        return SimSource(client=get_redis(), seed=int(sim["seed"]),
                         step_s=settings.FEED_POLL_INTERVAL_S, params=_sim_params_cached)
    if name in HTTP_SOURCES and name in settings.FEED_SOURCES:
        config: dict[str, Any] = settings.FEED_SOURCES[name]
        return HTTP_SOURCES[name](base_url=config["url"],
                                  timeout_s=float(config.get("timeout_s", 1.0)),
                                  retries=int(config.get("retries", 2)),
                                  backoff_s=float(config.get("backoff_s", 0.05)))
    raise KeyError(f"unknown price source {name!r}")


def source_cache_clear() -> None:
    """Forget built sources (after settings change, in tests)."""
    source_get.cache_clear()
    _sim_params_cached.cache_clear()


# --- polling ---

def price_ticks(price: Decimal, tick_size: Decimal) -> int | None:
    """An observed price on the market's grid: the nearest tick (half to even); None when it
    rounds to zero or beyond the engine's integer range."""
    ticks = int((price / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN))
    return ticks if 0 < ticks <= MAX_ENGINE_INT else None


@dataclass
class PollOutcome:
    source: str
    skipped: bool = False
    markets: int = 0
    observed: int = 0
    error: str | None = None


def _lock(client: redis.Redis, key: str) -> str | None:
    token = uuid.uuid4().hex
    return token if client.set(key, token, nx=True, px=LOCK_MS) else None


def _unlock(client: redis.Redis, key: str, token: str) -> None:
    client.eval(_RELEASE, 1, key, token)


@contextmanager
def _exclusive(client: redis.Redis, key: str, *, stats_key: str | None = None
               ) -> Iterator[bool]:
    """Skip-if-running: yields True while this run holds ``key`` (released on exit), False
    when another run holds it (counted as ``skipped`` in ``stats_key``). The lock expires after
    ``LOCK_MS`` so a crashed run never blocks the next ones for long."""
    token = _lock(client, key)
    if token is None:
        if stats_key is not None:
            client.hincrby(stats_key, "skipped", 1)
        yield False
        return
    try:
        yield True
    finally:
        _unlock(client, key, token)


def observations_record(*, markets: Sequence[FeedMarket], quotes: dict[str, Quote]) -> int:
    """Append each market's quote to its price window (one pipeline). Returns how many."""
    observations = []
    for market in markets:
        quote = quotes.get(market.symbol)
        if quote is None:
            continue
        ticks = price_ticks(quote.price, market.tick_size)
        if ticks is None:
            logger.warning("feed price %s of %s is off the engine's range", quote.price,
                           market.symbol)
            continue
        observations.append((market.symbol, PriceObservation(
            price_ticks=ticks, raw=f"{quote.price:f}", source_ts_ms=quote.source_ts_ms)))
    if observations:
        get_engine().feed_observe_many(
            observations, maxlen=settings.FEED_WINDOW_MAXLEN,
            max_age_ms=int(settings.FEED_WINDOW_MAX_AGE_S * 1000))
    return len(observations)


def feed_poll(*, source: str) -> PollOutcome:
    """Poll one source for all its markets and append the observations to their windows.

    Skip-if-running per source; a failing source records the failure and returns (the other
    sources are polled by their own runs and never wait for it)."""
    outcome = PollOutcome(source=source)
    markets = feed_market_list(source=source)
    if not markets:
        return outcome
    client = get_redis()
    lock_key = f"feeds:poll:{source}:lock"
    with _exclusive(client, lock_key, stats_key=source_stats_key(source)) as held:
        if not held:
            outcome.skipped = True
            return outcome
        outcome.markets = len(markets)
        try:
            quotes = source_get(source).fetch(markets)
        except SourceUnavailable as exc:
            outcome.error = str(exc)
            logger.warning("price source %s unavailable: %s", source, exc)
            client.hincrby(source_stats_key(source), "failures", 1)
            return outcome
        outcome.observed = observations_record(markets=markets, quotes=quotes)
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(source_stats_key(source), "polls", 1)
        pipe.hset(source_stats_key(source), "last_ok_ms", str(int(time.time() * 1000)))
        pipe.execute()
        return outcome


# --- matching passes ---

@dataclass
class MatchOutcome:
    skipped: bool = False
    markets: int = 0
    busy: list[str] = field(default_factory=list)
    fills: int = 0
    triggered: int = 0
    recovered: list[str] = field(default_factory=list)
    duration_us: int = 0
    passes: dict[str, FeedPass] = field(default_factory=dict)


def feed_match_pass(*, symbols: Sequence[str] | None = None,
                    window_limit: int = 256) -> MatchOutcome:
    """One matching pass over every feed-priced market (or ``symbols``): fill resting orders
    crossed by the observations since the last pass, then trigger stops at the crossing prices.

    Skip-if-running (one pass at a time); per-market locks (a market another pass holds is
    left for the next pass). A market without engine state is recovered from PostgreSQL and
    matched on the next pass (its window waits). Settlement applies the fills."""
    started = time.perf_counter()
    outcome = MatchOutcome()
    client = get_redis()
    with _exclusive(client, MATCH_LOCK_KEY, stats_key=MATCH_STATS_KEY) as held:
        if not held:
            outcome.skipped = True
            return outcome
        if symbols is None:
            symbols = [m.symbol for m in feed_market_list()]
        if symbols:
            _pass_markets(client, list(symbols), outcome, window_limit)
        outcome.duration_us = int((time.perf_counter() - started) * 1e6)
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(MATCH_STATS_KEY, "passes", 1)
        pipe.lpush(MATCH_DURATIONS_KEY, outcome.duration_us)
        pipe.ltrim(MATCH_DURATIONS_KEY, 0, DURATIONS_KEPT - 1)
        pipe.execute()
        return outcome


def _pass_markets(client: redis.Redis, symbols: list[str], outcome: MatchOutcome,
                  window_limit: int) -> None:
    token = uuid.uuid4().hex
    engine = get_engine()
    results = engine.feed_fill_many(symbols, window_limit=window_limit, lock_token=token,
                                    lock_ms=LOCK_MS)
    for symbol, result in results.items():
        if isinstance(result, EngineStateMissing):
            _recover(symbol)
            outcome.recovered.append(symbol)
            continue
        if result.busy:
            outcome.busy.append(symbol)
            continue
        outcome.markets += 1
        outcome.passes[symbol] = result
        outcome.fills += sum(e.kind == "fill" for e in result.events)
        if not result.stop_prices:
            continue
        try:
            for price in result.stop_prices:
                triggered = engine.trigger(symbol, price, house=True)
                outcome.triggered += sum(e.kind == "triggered" for e in triggered)
        finally:
            _unlock(client, feed_lock_key(symbol), token)


def _recover(symbol: str) -> None:
    from settlement.recovery import engine_recover

    pair = TradingPair.objects.select_related("base", "quote").get(symbol=symbol)
    engine_recover(pair=pair)


# --- the house ---

# What ``seed_demo`` tops the house up to: enough for a demo's feed fills in every asset.
HOUSE_DEMO_FUNDS = {"BTC": Decimal(1000), "ETH": Decimal(10000), "XRP": Decimal(10000000),
                    "KRW": Decimal(10) ** 12, "USDT": Decimal(10) ** 8}

@transaction.atomic
def house_fund(*, amounts: dict[str, Decimal]) -> list[JournalTransaction]:
    """Top the house liquidity account up to ``amounts`` (asset symbol -> target available),
    moving the difference from the external account (an ``adjustment`` journal, reference
    ``house:fund``). Idempotent: an account already at or above its target gets nothing."""
    house = wallet_system_account(kind=Account.Kind.HOUSE)
    journals = []
    for symbol, target in sorted(amounts.items()):
        asset = Asset.objects.get(symbol=symbol)
        have = balance_get(account=house, asset=asset).available
        if have < target:
            journals.append(wallet_credit(account=house, asset=asset, amount=target - have,
                                          reference="house:fund",
                                          kind=JournalTransaction.Kind.ADJUSTMENT))
    return journals


# --- candles and tickers of feed-priced markets (docs/feeds.md "Candles and ticker") ---

CANDLES_LOCK_KEY = "feeds:candles:lock"
CANDLES_STATS_KEY = "feeds:candles:stats"
CANDLES_DURATIONS_KEY = "feeds:candles:durations_us"
CANDLES_CURSOR_FIELD = "candles_cursor"  # in feedstats:{S}: the last window entry rolled
TICKERS_LOCK_KEY = "feeds:tickers:lock"
TICKERS_DURATIONS_KEY = "feeds:tickers:durations_us"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _window_price(fields: dict[Any, Any], tick_size: Decimal) -> Decimal:
    """The price of a window entry (field ``p``, in ticks)."""
    ticks = fields.get(b"p", fields.get("p"))
    return int(_text(ticks)) * tick_size


@dataclass
class CandleRollOutcome:
    skipped: bool = False
    markets: int = 0
    observations: int = 0
    rows: int = 0
    pushed: int = 0  # candles messages sent to listened channels
    duration_us: int = 0


def _durations_record(client: redis.Redis, key: str, duration_us: int) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.lpush(key, duration_us)
    pipe.ltrim(key, 0, DURATIONS_KEPT - 1)
    pipe.execute()


def feed_candles_roll(*, symbols: Sequence[str] | None = None,
                      limit: int = 1000) -> CandleRollOutcome:
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
    with _exclusive(client, CANDLES_LOCK_KEY, stats_key=CANDLES_STATS_KEY) as held:
        if not held:
            outcome.skipped = True
            return outcome
        markets = [m for m in feed_market_list() if symbols is None or m.symbol in symbols]
        if not markets:
            return outcome
        pipe = client.pipeline(transaction=False)
        for market in markets:
            pipe.hget(feed_stats_key(market.symbol), CANDLES_CURSOR_FIELD)
        cursors = [_text(c) if c else None for c in pipe.execute()]
        pipe = client.pipeline(transaction=False)
        for market, cursor in zip(markets, cursors, strict=True):
            pipe.xrange(prices_key(market.symbol), min=f"({cursor}" if cursor else "-",
                        count=limit)
        windows = pipe.execute()
        ids = dict(TradingPair.objects.filter(symbol__in=[m.symbol for m in markets])
                   .values_list("symbol", "pk"))
        rows: list[tuple[int, CandleDelta]] = []
        moved: dict[str, str] = {}
        changed: dict[str, dict[str, datetime]] = {}
        for market, entries in zip(markets, windows, strict=True):
            if not entries or market.symbol not in ids:
                continue
            observations = [(_text(entry_id), _window_price(fields, market.tick_size))
                            for entry_id, fields in entries]
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
        _durations_record(client, CANDLES_DURATIONS_KEY, outcome.duration_us)
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
    with _exclusive(client, TICKERS_LOCK_KEY) as held:
        if not held:
            outcome.skipped = True
            return outcome
        markets = [m for m in feed_market_list() if symbols is None or m.symbol in symbols]
        if not markets:
            return outcome
        pipe = client.pipeline(transaction=False)
        for market in markets:
            pipe.xrevrange(prices_key(market.symbol), count=TICKER_RECENT_ENTRIES)
        pipe.mget([ticker_key(m.symbol) for m in markets])
        answers = pipe.execute()
        moved = []
        for market, entries, raw in zip(markets, answers[:-1], answers[-1], strict=True):
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
            seen = [_window_price(fields, market.tick_size) for entry_id, fields in entries
                    if int(_text(entry_id).split("-")[0]) >= since_ms]
            moved.append(ticker_with_price(ticker=ticker, price=price, seen=seen,
                                           places=decimal_places(market.tick_size)))
            outcome.moved.append(market.symbol)
        ticker_store_many(tickers=moved)
        if outcome.recomputed:
            for pair in TradingPair.objects.select_related("base", "quote").filter(
                    symbol__in=outcome.recomputed):
                ticker_refresh(pair=pair)
        changed = outcome.moved + outcome.recomputed
        if changed:
            tickers_mark_dirty(symbols=changed, client=client)
        outcome.duration_us = int((time.perf_counter() - started) * 1e6)
        _durations_record(client, TICKERS_DURATIONS_KEY, outcome.duration_us)
        return outcome
