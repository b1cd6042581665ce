"""Feed matching passes: resting orders of feed-priced markets filled against the house when the
price window crosses them, and the stop and take-profit orders the window triggers
(``feed_match_pass``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from engine.engine import EngineStateMissing, FeedPass
from engine.keys import feed_lock_key
from engine.runtime import get_engine
from feeds.runs import DURATIONS_KEPT, LOCK_MS, exclusive_run, lock_release
from feeds.selectors import feed_market_list
from markets.models import TradingPair
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


MATCH_LOCK_KEY = "feeds:match:lock"


MATCH_STATS_KEY = "feeds:match:stats"


MATCH_DURATIONS_KEY = "feeds:match:durations_us"


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


def feed_match_pass(
    *, symbols: Sequence[str] | None = None, window_limit: int = 256
) -> MatchOutcome:
    """One matching pass over every feed-priced market (or ``symbols``): fill resting orders
    crossed by the observations since the last pass, then trigger the parked stops and
    take-profits at the crossing prices.

    Skip-if-running (one pass at a time); per-market locks (a market another pass holds is
    left for the next pass). A market without engine state is recovered from PostgreSQL and
    matched on the next pass (its window waits). Settlement applies the fills."""
    started = time.perf_counter()
    outcome = MatchOutcome()
    client = get_redis()
    with exclusive_run(client, MATCH_LOCK_KEY, stats_key=MATCH_STATS_KEY) as held:
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


def _pass_markets(
    client: redis.Redis, symbols: list[str], outcome: MatchOutcome, window_limit: int
) -> None:
    token = uuid.uuid4().hex
    engine = get_engine()
    results = engine.feed_fill_many(
        symbols, window_limit=window_limit, lock_token=token, lock_ms=LOCK_MS
    )
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
            lock_release(client, feed_lock_key(symbol), token)


def _recover(symbol: str) -> None:
    from settlement.recovery import engine_recover

    pair = TradingPair.objects.select_related("base", "quote").get(symbol=symbol)
    engine_recover(pair=pair)
