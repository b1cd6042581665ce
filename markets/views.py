"""Web pages of markets: the market list (the home page) and a market's trade page.

The pages are rendered with the data they need to be useful without JavaScript; the scripts in
``static/js/`` then keep them live over ``/ws/`` and the REST API (the same endpoints any client
uses), so the views only gather what the templates show first."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from markets.errors import UnknownMarket
from markets.models import TradingPair
from markets.payloads import PairOut, TradeOut
from markets.selectors import pair_get, pair_list, trade_list
from markets.ticker import ticker_get, ticker_get_many
from tradehive.money import format_decimal

RECENT_TRADES = 50


def _feed_stale_after_ms() -> int:
    return int(settings.FEED_STALE_AFTER_S * 1000)


def _market_config(pair: TradingPair, market: dict[str, Any]) -> dict[str, Any]:
    """What the page scripts need about a market: the API's market object plus precision and
    whether its price feed is stale (market orders are paused then)."""
    age = market.get("feed_age_ms")
    stale = pair.is_feed_priced and (age is None or age > _feed_stale_after_ms())
    return {
        **market,
        "price_places": pair.price_places,
        "quantity_places": pair.quantity_places,
        "feed_stale": stale,
        "feed_stale_after_ms": _feed_stale_after_ms(),
    }


def market_list(request: HttpRequest) -> HttpResponse:
    pairs = list(pair_list())
    markets = PairOut(pairs, many=True).data
    configs = [_market_config(p, m) for p, m in zip(pairs, markets, strict=True)]
    rows = list(zip(pairs, ticker_get_many(pairs=pairs), configs, strict=True))
    return render(
        request,
        "markets/market_list.html",
        {"rows": rows, "markets": configs, "feed_stale_after_ms": _feed_stale_after_ms()},
    )


def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    try:
        pair = pair_get(symbol=symbol)
    except UnknownMarket:
        raise Http404(f"No market {symbol}") from None
    if symbol != pair.symbol:
        return redirect("markets:detail", symbol=pair.symbol, permanent=True)
    market = _market_config(pair, PairOut(pair).data)
    others = list(pair_list())
    return render(
        request,
        "markets/market_detail.html",
        {
            "pair": pair,
            "market": market,
            "ticker": ticker_get(pair=pair),
            "maker_fee_pct": format_decimal(pair.maker_fee * 100),
            "taker_fee_pct": format_decimal(pair.taker_fee * 100),
            "trades": TradeOut(
                trade_list(pair=pair, limit=RECENT_TRADES), many=True, context={"pair": pair}
            ).data,
            "intervals": ["1m", "5m", "15m", "1h", "4h", "1d"],
            # The market switcher: every market with its ticker, in display order.
            "switcher": list(zip(others, ticker_get_many(pairs=others), strict=True)),
        },
    )
