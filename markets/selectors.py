"""Reads of markets: pairs, public trades and candles."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from markets.errors import UnknownMarket
from markets.models import Candle, Trade, TradingPair


def pair_list() -> QuerySet[TradingPair]:
    """Every market in display order, with its assets."""
    return TradingPair.objects.select_related("base", "quote").order_by("display_order", "symbol")


def pair_get(*, symbol: str) -> TradingPair:
    """The market ``symbol`` (``BASE-QUOTE``, any case), with its assets.

    Raises ``UnknownMarket`` (404 ``unknown_market``)."""
    try:
        return pair_list().get(symbol=symbol.strip().upper())
    except TradingPair.DoesNotExist:
        raise UnknownMarket(f"No market {symbol!r}.") from None


def trade_list(*, pair: TradingPair, limit: int) -> list[Trade]:
    """The newest ``limit`` trades of ``pair``, newest first (engine sequence order)."""
    return list(Trade.objects.filter(pair=pair).order_by("-sequence")[:limit])


def trade_list_from(
    *,
    pair: TradingPair,
    limit: int,
    from_sequence: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Trade]:
    """Trades of ``pair`` oldest first: from engine sequence ``from_sequence``, or in
    [start, end]; at most ``limit``, the first ones from where they start (Binance's
    ``aggTrades`` with ``fromId``/``startTime``)."""
    trades = Trade.objects.filter(pair=pair)
    if from_sequence is not None:
        trades = trades.filter(sequence__gte=from_sequence)
    if start is not None:
        trades = trades.filter(created_at__gte=start)
    if end is not None:
        trades = trades.filter(created_at__lte=end)
    return list(trades.order_by("sequence")[:limit])


def candle_list(
    *,
    pair: TradingPair,
    interval: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int,
) -> list[Candle]:
    """Candles whose open time lies in [start, end], oldest first, at most ``limit``.

    With ``start`` the first ``limit`` from there; without it the latest ``limit`` up to
    ``end`` (what the big exchanges' kline endpoints do)."""
    candles = Candle.objects.filter(pair=pair, interval=interval)
    if start is not None:
        candles = candles.filter(bucket__gte=start)
    if end is not None:
        candles = candles.filter(bucket__lte=end)
    if start is not None:
        return list(candles.order_by("bucket")[:limit])
    return list(reversed(candles.order_by("-bucket")[:limit]))


def candle_list_before(
    *, pair: TradingPair, interval: str, before: datetime, limit: int
) -> list[Candle]:
    """Up to ``limit`` candles opening before ``before``, oldest first (indicator warm-up)."""
    candles = Candle.objects.filter(pair=pair, interval=interval, bucket__lt=before)
    return list(reversed(candles.order_by("-bucket")[:limit]))


def candle_list_since(*, pair: TradingPair, since: dict[str, datetime]) -> list[Candle]:
    """For each interval in ``since``, the candles of ``pair`` opening at or after its time
    (the candles a batch of trades touched), ordered by interval and open time."""
    condition = Q()
    for interval, start in since.items():
        condition |= Q(interval=interval, bucket__gte=start)
    if not since:
        return []
    return list(Candle.objects.filter(condition, pair=pair).order_by("interval", "bucket"))
