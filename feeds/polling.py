"""Feed polls: each source's quotes into the markets' price windows (``feed_poll``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

from django.conf import settings

from engine.engine import PriceObservation
from engine.runtime import get_engine
from engine.units import MAX_ENGINE_INT
from feeds.errors import SourceUnavailable
from feeds.runs import exclusive_run
from feeds.selectors import feed_market_list
from feeds.sources import HTTP_SOURCES, FeedMarket, PriceSource, Quote, SimParams, SimSource
from markets.models import TradingPair
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


def source_stats_key(name: str) -> str:
    return f"feeds:source:{name}"


def _sim_params(symbol: str) -> SimParams:
    config: dict[str, Any] = settings.FEED_SIM
    market = config.get("markets", {}).get(symbol, {})
    start = market.get("start")
    if start is None:
        # Unconfigured markets start at default_start_ticks ticks (the tick from the DB).
        tick = TradingPair.objects.filter(symbol=symbol).values_list("tick_size", flat=True)
        start = Decimal(config["default_start_ticks"]) * (tick.first() or Decimal(1))
    return SimParams(
        start=Decimal(str(start)),
        drift=Decimal(str(market.get("drift", config["drift"]))),
        volatility=Decimal(str(market.get("volatility", config["volatility"]))),
    )


@cache
def _sim_params_cached(symbol: str) -> SimParams:
    return _sim_params(symbol)


@cache
def source_get(name: str) -> PriceSource:
    """The process's source named ``name`` (from settings ``FEED_SIM`` / ``FEED_SOURCES``)."""
    if name == "sim":
        sim: dict[str, Any] = settings.FEED_SIM
        return SimSource(
            client=get_redis(),
            seed=int(sim["seed"]),
            step_s=settings.FEED_POLL_INTERVAL_S,
            params=_sim_params_cached,
        )
    if name in HTTP_SOURCES and name in settings.FEED_SOURCES:
        config: dict[str, Any] = settings.FEED_SOURCES[name]
        return HTTP_SOURCES[name](
            base_url=config["url"],
            timeout_s=float(config.get("timeout_s", 1.0)),
            retries=int(config.get("retries", 2)),
            backoff_s=float(config.get("backoff_s", 0.05)),
        )
    raise KeyError(f"unknown price source {name!r}")


def source_cache_clear() -> None:
    """Forget built sources (after settings change, in tests)."""
    source_get.cache_clear()
    _sim_params_cached.cache_clear()


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


def observations_record(*, markets: Sequence[FeedMarket], quotes: dict[str, Quote]) -> int:
    """Append each market's quote to its price window (one pipeline). Returns how many."""
    observations = []
    for market in markets:
        quote = quotes.get(market.symbol)
        if quote is None:
            continue
        ticks = price_ticks(quote.price, market.tick_size)
        if ticks is None:
            logger.warning(
                "feed price %s of %s is off the engine's range", quote.price, market.symbol
            )
            continue
        observations.append(
            (
                market.symbol,
                PriceObservation(
                    price_ticks=ticks, raw=f"{quote.price:f}", source_ts_ms=quote.source_ts_ms
                ),
            )
        )
    if observations:
        get_engine().feed_observe_many(
            observations,
            maxlen=settings.FEED_WINDOW_MAXLEN,
            max_age_ms=int(settings.FEED_WINDOW_MAX_AGE_S * 1000),
        )
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
    with exclusive_run(client, lock_key, stats_key=source_stats_key(source)) as held:
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
