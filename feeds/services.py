"""Price feed writes: poll a source into the price windows, run matching passes, fund the house.

Cadence (docs/feeds.md): Celery beat sends ``feeds.tasks.poll_source`` per source every 0.25 s
and ``feeds.tasks.match_markets`` every 0.5 s, each with ``expires`` = its interval, to the
``feeds`` queue. Each run is skip-if-running: it takes a Redis lock (``SET NX PX``) and returns
at once when the previous run still holds it, so a slow run never piles up behind itself. A
matching pass also takes a lock per market (``feedlock:{S}``) around the market's fill +
trigger work: taken inside ``feed_fill.lua`` only when the window crosses parked stops (the
fills themselves are one atomic script call; the triggers that follow are further calls), so
no two passes (beat, a manual run, a bench) interleave on one market."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

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
from markets.models import TradingPair
from matching.engine import EngineStateMissing, FeedPass, PriceObservation
from matching.keys import feed_lock_key
from matching.runtime import get_engine
from matching.units import MAX_ENGINE_INT
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
                     drift=float(market.get("drift", config["drift"])),
                     volatility=float(market.get("volatility", config["volatility"])))


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
    token = _lock(client, lock_key)
    if token is None:
        outcome.skipped = True
        client.hincrby(source_stats_key(source), "skipped", 1)
        return outcome
    try:
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
    finally:
        _unlock(client, lock_key, token)


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
    token = _lock(client, MATCH_LOCK_KEY)
    if token is None:
        outcome.skipped = True
        client.hincrby(MATCH_STATS_KEY, "skipped", 1)
        return outcome
    try:
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
    finally:
        _unlock(client, MATCH_LOCK_KEY, token)


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
                triggered = engine.trigger(symbol, price)
                outcome.triggered += sum(e.kind == "triggered" for e in triggered)
        finally:
            _unlock(client, feed_lock_key(symbol), token)


def _recover(symbol: str) -> None:
    from matching.recovery import engine_recover

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
