"""Reads of the realtime app: notifications, the market symbols the protocol accepts, and the
market data a subscriber gets first."""

from __future__ import annotations

import time
from datetime import datetime
from threading import Lock

from django.db.models import QuerySet

from markets.models import Candle, TradingPair
from markets.selectors import pair_list
from realtime.models import Notification

MARKETS_TTL_SECONDS = 5.0
_markets: dict[str, TradingPair] = {}
_markets_loaded_at = float("-inf")
_markets_lock = Lock()


def notification_list_for_user(*, user_id: int, unread: bool = False) -> QuerySet[Notification]:
    """``user_id``'s notifications (the pagination orders them newest first)."""
    notifications = Notification.objects.filter(user_id=user_id)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


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


def candle_list_since(*, pair: TradingPair, since: dict[str, datetime]) -> list[Candle]:
    """For each interval in ``since``, the candles of ``pair`` opening at or after its time
    (the candles a batch of trades touched), ordered by interval and open time."""
    from django.db.models import Q

    condition = Q()
    for interval, start in since.items():
        condition |= Q(interval=interval, bucket__gte=start)
    if not since:
        return []
    return list(Candle.objects.filter(condition, pair=pair).order_by("interval", "bucket"))


def candle_latest(*, pair: TradingPair, interval: str) -> Candle | None:
    return (Candle.objects.filter(pair=pair, interval=interval).order_by("-bucket").first())
