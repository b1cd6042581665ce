"""Reads of the realtime app: the market symbols the protocol accepts, and the market data a
subscriber gets first."""

from __future__ import annotations

import time
from threading import Lock

from markets.models import Candle, TradingPair
from markets.selectors import pair_list

MARKETS_TTL_SECONDS = 5.0
_markets: dict[str, TradingPair] = {}
_markets_loaded_at = float("-inf")
_markets_lock = Lock()


def market_get_cached(symbol: str) -> TradingPair | None:
    """The market ``symbol`` from a per-process copy refreshed every few seconds, so thousands of
    subscriptions cost no query each. None for an unknown market."""
    global _markets, _markets_loaded_at
    with _markets_lock:
        if time.monotonic() - _markets_loaded_at > MARKETS_TTL_SECONDS:
            _markets = {p.symbol: p for p in pair_list()}
            _markets_loaded_at = time.monotonic()
        return _markets.get(symbol)


def market_cache_clear() -> None:
    global _markets_loaded_at
    with _markets_lock:
        _markets_loaded_at = float("-inf")


def candle_latest(*, pair: TradingPair, interval: str) -> Candle | None:
    return Candle.objects.filter(pair=pair, interval=interval).order_by("-bucket").first()
