"""Web pages of markets: the market list (the home page) and a market's page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from markets.apis import TradeOut
from markets.errors import UnknownMarket
from markets.selectors import pair_get, pair_list, trade_list
from markets.ticker import ticker_get, ticker_get_many
from tradehive.money import format_decimal

RECENT_TRADES = 50


def market_list(request: HttpRequest) -> HttpResponse:
    pairs = list(pair_list())
    rows = list(zip(pairs, ticker_get_many(pairs=pairs), strict=True))
    return render(request, "markets/market_list.html", {"rows": rows})


def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    try:
        pair = pair_get(symbol=symbol)
    except UnknownMarket:
        raise Http404(f"No market {symbol}") from None
    if symbol != pair.symbol:
        return redirect("markets:detail", symbol=pair.symbol, permanent=True)
    return render(request, "markets/market_detail.html", {
        "pair": pair,
        "ticker": ticker_get(pair=pair),
        "maker_fee_pct": format_decimal(pair.maker_fee * 100),
        "taker_fee_pct": format_decimal(pair.taker_fee * 100),
        "trades": TradeOut(trade_list(pair=pair, limit=RECENT_TRADES), many=True,
                           context={"pair": pair}).data,
    })
