"""Reads of markets: pairs, public trades and candles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.db.models import Q, QuerySet

from markets import price_sources
from markets.errors import UnknownMarket
from markets.models import Candle, Trade, TradingPair
from wallets.models import Account, Balance


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


@dataclass(frozen=True, slots=True)
class HouseQuote:
    """What the house of a feed-priced market fills right now (docs/feeds.md): market orders
    whole at ``price``, the feed's newest observation (``observed_at``), both ways. The sizes
    are what the house holds to fill with, in whole lots: ``ask_quantity`` of the base it can
    sell, ``bid_quantity`` the base its quote buys at ``price``."""

    price: Decimal
    bid_quantity: Decimal
    ask_quantity: Decimal
    observed_at: datetime


def house_quote_get(*, pair: TradingPair) -> HouseQuote | None:
    """The house's quote in ``pair``: None for a book market, a market not taking orders, or a
    feed with no observation younger than its stale limit (market orders are refused then:
    ``stale_price``). Resting limit orders are not quoted here: the house fills them at their own
    price once the feed crosses it."""
    source = price_sources.source_for(pair)
    if source is None or not pair.accepts_orders:
        return None
    latest = source.latest_many([pair]).get(pair.symbol)
    if latest is None or latest.age_ms > source.stale_after_ms() or latest.price <= 0:
        return None
    held = dict(
        Balance.objects.filter(
            account__kind=Account.Kind.HOUSE,
            account__user__isnull=True,
            asset_id__in=[pair.base_id, pair.quote_id],
        ).values_list("asset_id", "available")
    )

    def lots(quantity: Decimal) -> Decimal:
        whole = (quantity / pair.lot_size).to_integral_value(rounding=ROUND_DOWN)
        return max(whole, Decimal(0)) * pair.lot_size

    return HouseQuote(
        price=latest.price,
        bid_quantity=lots(held.get(pair.quote_id, Decimal(0)) / latest.price),
        ask_quantity=lots(held.get(pair.base_id, Decimal(0))),
        observed_at=latest.received_at,
    )
