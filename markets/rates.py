"""What one unit of each asset is worth in another, at the markets' prices: now (the last price
of each market's ticker: the last trade of a book market, the feed of a feed-priced one) or at a
past moment (the close of each market's latest 1m candle at or before it).

An asset without a market against the reference asset is priced through others when a path of
markets joins them (USDT in KRW through BTC-USDT and BTC-KRW); an asset no path reaches has no
rate (the caller shows its value as unknown rather than zero)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from markets.models import Candle, Interval, TradingPair
from markets.selectors import pair_list
from markets.ticker import ticker_get_many

# (base asset id, quote asset id, price of one base in quote)
Quote = tuple[int, int, Decimal]


def _quotes_now(pairs: Sequence[TradingPair]) -> list[Quote]:
    quotes = []
    for pair, ticker in zip(pairs, ticker_get_many(pairs=pairs), strict=True):
        last = ticker.get("last")
        if last is not None and Decimal(last) > 0:
            quotes.append((pair.base_id, pair.quote_id, Decimal(last)))
    return quotes


def _quotes_at(pairs: Sequence[TradingPair], at: datetime) -> list[Quote]:
    """One query: each market's latest 1m candle at or before ``at`` (PostgreSQL's DISTINCT
    ON)."""
    by_id = {pair.pk: pair for pair in pairs}
    closes = (
        Candle.objects.filter(pair_id__in=by_id, interval=Interval.M1, bucket__lte=at)
        .order_by("pair_id", "-bucket")
        .distinct("pair_id")
        .values_list("pair_id", "close")
    )
    return [
        (by_id[pair_id].base_id, by_id[pair_id].quote_id, close)
        for pair_id, close in closes
        if close > 0
    ]


def _walk(reference_id: int, quotes: list[Quote]) -> dict[int, Decimal]:
    """Rates from the reference outward over the markets, each market used in either
    direction; the first path found (markets in display order) gives an asset its rate."""
    rates = {reference_id: Decimal(1)}
    changed = True
    while changed:
        changed = False
        for base_id, quote_id, price in quotes:
            if quote_id in rates and base_id not in rates:
                rates[base_id] = price * rates[quote_id]
                changed = True
            elif base_id in rates and quote_id not in rates:
                rates[quote_id] = rates[base_id] / price
                changed = True
    return rates


def rates_in(*, reference_id: int, at: datetime | None = None) -> dict[int, Decimal]:
    """Asset id -> what one unit is worth in the asset ``reference_id`` (itself: 1), now or at
    ``at``. Assets no market path reaches are missing."""
    pairs = list(pair_list())
    quotes = _quotes_now(pairs) if at is None else _quotes_at(pairs, at)
    return _walk(reference_id, quotes)
