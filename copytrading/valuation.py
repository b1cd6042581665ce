"""What holdings are worth in an allocation asset, at the markets' last prices.

An asset is priced by its market against the allocation asset (``BTC-KRW`` for KRW): the last
trade of a book market, the last observation of a feed-priced one (the cached tickers). An
asset without such a market, or whose market has never traded, counts as 0: copy trading
copies only markets quoted in the allocation asset, so what an allocation holds always has
one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from markets.models import TradingPair
from markets.ticker import ticker_get_many
from wallets.models import Asset, Balance


def prices_in(asset: Asset) -> dict[int, Decimal]:
    """Asset id -> last price in ``asset`` (``asset`` itself: 1)."""
    pairs = list(
        TradingPair.objects.filter(quote=asset).select_related("base", "quote").order_by("id")
    )
    prices = {asset.pk: Decimal(1)}
    for pair, ticker in zip(pairs, ticker_get_many(pairs=pairs), strict=True):
        if ticker.get("last") is not None:
            prices[pair.base_id] = Decimal(ticker["last"])
    return prices


def holdings_of(user_ids: Iterable[int]) -> dict[int, dict[int, tuple[Decimal, Decimal]]]:
    """User id -> asset id -> (available, locked), in one query."""
    held: dict[int, dict[int, tuple[Decimal, Decimal]]] = defaultdict(dict)
    rows = Balance.objects.filter(account__user_id__in=list(user_ids)).values_list(
        "account__user_id", "asset_id", "available", "locked"
    )
    for user_id, asset_id, available, locked in rows:
        held[user_id][asset_id] = (available, locked)
    return held


def value_of(holdings: dict[int, tuple[Decimal, Decimal]], prices: dict[int, Decimal]) -> Decimal:
    """Available + locked of every asset times its price (0 without one)."""
    return sum(
        ((available + locked) * prices.get(asset_id, Decimal(0)))
        for asset_id, (available, locked) in holdings.items()
    ) or Decimal(0)
