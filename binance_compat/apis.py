"""The Binance-compatible endpoints: parse Binance's parameters, call the project's services and
selectors (the ones ``/api/v1/`` calls), answer in Binance's shapes. Every rule (validation,
holds, matching) is the project's; nothing here decides whether an order is good.

Public endpoints take no key. Signed ones authenticate with ``accounts``' API keys
(``X-MBX-APIKEY``, ``timestamp``, ``signature``) and need the key's permission for the view
(``api_key_permission``: reads ``read``, orders ``trade``, withdrawals ``withdraw``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.permissions import ApiKeyScope
from accounts.requests import AuthenticatedRequest
from binance_compat import payloads
from binance_compat.errors import (
    BAD_INTERVAL,
    CANCEL_REJECTED,
    ILLEGAL_CHARS,
    INVALID_ORDER_TYPE,
    INVALID_SIDE,
    INVALID_TIF,
    NO_SUCH_ORDER,
    BinanceError,
    binance_exception_handler,
    invalid_parameter,
    mandatory,
    not_required,
)
from binance_compat.params import FormParser, Params
from binance_compat.symbols import (
    binance_symbol,
    dashed_symbol,
    pair_for_symbol,
    pairs_by_binance_symbol,
)
from engine.runtime import get_engine
from engine.units import MAX_ENGINE_INT, levels_decimal
from markets.apis import MAX_DEPTH_LEVELS
from markets.intervals import INTERVALS
from markets.models import TradingPair
from markets.selectors import candle_list, pair_list, trade_list, trade_list_from
from markets.ticker import ticker_get_many
from orders.cancel import order_cancel, order_cancel_all
from orders.errors import OrderNotFound, OrderNotOpen
from orders.models import Order
from orders.selectors import fill_list_for_user, order_get_for_user, order_list_for_user
from orders.services import order_place
from orders.terms import CLIENT_ORDER_ID_PATTERN
from tradehive.db_router import reads_replica
from tradehive.money import format_decimal
from wallets.models import Asset
from wallets.selectors import (
    asset_active_get,
    asset_list_active,
    balance_list_for_user,
    deposit_list_for_user,
    withdrawal_list_for_user,
)
from wallets.withdrawals import withdrawal_request

_CLIENT_ORDER_ID = re.compile(CLIENT_ORDER_ID_PATTERN)
MAX_OFFSET = 2**31 - 1  # wallet history pages: far past any user's history


class BinanceApi(APIView):
    """A public endpoint: no key, Binance's errors, query strings and form bodies."""

    schema = None  # not part of the project's OpenAPI document (docs/api.md describes it)
    authentication_classes: list[type] = []
    permission_classes: list[type] = [AllowAny]
    parser_classes = [FormParser]

    def get_exception_handler(self) -> Any:
        return binance_exception_handler


class SignedApi(BinanceApi):
    """An endpoint that needs a request signed with an API key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated, ApiKeyScope]


class UnknownPathApi(BinanceApi):
    """Any other path under ``/api/v3/`` or ``/sapi/v1/``: Binance's shape for "no such thing"."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        request = self.initialize_request(request, *args, **kwargs)
        self.request, self.headers = request, self.default_response_headers
        error = BinanceError(-1020, "This operation is not supported.", 404)
        response = binance_exception_handler(error, {})
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


# --- public market data ----------------------------------------------------------------------


class PingApi(BinanceApi):
    def get(self, request: Request) -> Response:
        return Response({})


class TimeApi(BinanceApi):
    def get(self, request: Request) -> Response:
        return Response({"serverTime": payloads.ms(timezone.now())})


def _pairs_asked(params: Params) -> list[TradingPair]:
    """The markets of ``symbol`` or ``symbols=[...]`` (not both), or every market."""
    symbol, symbols = params.text("symbol", max_length=20), params.symbol_list()
    if symbol is not None and symbols is not None:
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    if symbol is not None:
        return [pair_for_symbol(symbol)]
    by_symbol = pairs_by_binance_symbol()
    if symbols is None:
        return list(by_symbol.values())
    pairs = []
    for name in symbols:
        if name not in by_symbol:
            raise BinanceError(-1121, "Invalid symbol.")
        pairs.append(by_symbol[name])
    return pairs


def _one_or_many(params: Params, rows: list[dict[str, Any]]) -> Response:
    """A single object for ``symbol=``, a list otherwise (Binance's ticker convention)."""
    return Response(rows[0] if params.has("symbol") else rows)


class ExchangeInfoApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        params.text("permissions", max_length=200)  # SPOT is the only one: accepted, not read
        pairs = _pairs_asked(params)
        return Response(
            {
                "timezone": "UTC",
                "serverTime": payloads.ms(timezone.now()),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE,
                    },
                    {
                        "rateLimitType": "ORDERS",
                        "interval": "SECOND",
                        "intervalNum": 10,
                        "limit": settings.RATE_LIMIT_USER_ORDERS_PER_10S,
                    },
                ],
                "exchangeFilters": [],
                "symbols": [payloads.market(pair, max_steps=MAX_ENGINE_INT) for pair in pairs],
            }
        )


def _book(pair: TradingPair, limit: int) -> tuple[int, list[list[str]], list[list[str]]]:
    depth = get_engine().depth(pair.symbol, limit)

    def levels(rows: list[tuple[int, int]]) -> list[list[str]]:
        return [
            [format_decimal(price, pair.price_places), format_decimal(qty, pair.quantity_places)]
            for price, qty in levels_decimal(rows, pair.tick_size, pair.lot_size)
        ]

    return depth.sequence, levels(depth.bids), levels(depth.asks)


class DepthApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        pair = pair_for_symbol(params.required("symbol", max_length=20))
        sequence, bids, asks = _book(pair, params.limit(default=100, maximum=MAX_DEPTH_LEVELS))
        return Response({"lastUpdateId": sequence, "bids": bids, "asks": asks})


class TradesApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        pair = pair_for_symbol(params.required("symbol", max_length=20))
        trades = trade_list(pair=pair, limit=params.limit(default=500, maximum=1000))
        return Response([payloads.trade(pair, row) for row in reversed(trades)])


class AggTradesApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        pair = pair_for_symbol(params.required("symbol", max_length=20))
        limit = params.limit(default=500, maximum=1000)
        from_id = params.integer("fromId")
        start, end = params.time("startTime"), params.time("endTime")
        if start is not None and end is not None and start > end:
            raise invalid_parameter("startTime")
        if from_id is None and start is None and end is None:
            trades = list(reversed(trade_list(pair=pair, limit=limit)))
        else:
            trades = trade_list_from(
                pair=pair, limit=limit, from_sequence=from_id, start=start, end=end
            )
        return Response([payloads.agg_trade(pair, row) for row in trades])


class KlinesApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        pair = pair_for_symbol(params.required("symbol", max_length=20))
        interval = params.required("interval", max_length=10)
        if interval not in INTERVALS:
            raise BinanceError(BAD_INTERVAL, "Invalid interval.")
        time_zone = params.text("timeZone", max_length=10)
        if time_zone not in (None, "0", "+0", "0:00", "+00:00"):
            raise invalid_parameter("timeZone")  # candles are UTC-aligned only
        start, end = params.time("startTime"), params.time("endTime")
        if start is not None and end is not None and start > end:
            raise invalid_parameter("startTime")
        candles = candle_list(
            pair=pair,
            interval=interval,
            start=start,
            end=end,
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([payloads.kline(pair, candle) for candle in candles])


def _top(pair: TradingPair) -> tuple[list[str], list[str]]:
    """Best bid and ask as [price, quantity] ("0" when a side is empty)."""
    _, bids, asks = _book(pair, 1)
    zero = ["0", "0"]
    return (bids[0] if bids else zero), (asks[0] if asks else zero)


def _price_or_zero(value: str | None) -> str:
    return value if value is not None else "0"


class Ticker24hrApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        params.choice("type", {"FULL": "FULL", "MINI": "MINI"}, invalid_parameter("type"))
        pairs = _pairs_asked(params)
        now = payloads.ms(timezone.now())
        rows = []
        for pair, ticker in zip(pairs, ticker_get_many(pairs=pairs), strict=True):
            (bid, bid_qty), (ask, ask_qty) = _top(pair)
            last = _price_or_zero(ticker["last"])
            opened = _price_or_zero(ticker["open_24h"])
            volume, quote_volume = (
                Decimal(ticker["volume_24h"]),
                Decimal(ticker["quote_volume_24h"]),
            )
            average = quote_volume / volume if volume else Decimal(0)
            rows.append(
                {
                    "symbol": binance_symbol(pair),
                    "priceChange": format_decimal(
                        Decimal(last) - Decimal(opened), pair.price_places
                    ),
                    "priceChangePercent": ticker["change_24h_pct"] or "0.00",
                    "weightedAvgPrice": format_decimal(average, pair.price_places + 4),
                    "prevClosePrice": opened,
                    "lastPrice": last,
                    "lastQty": "0",
                    "bidPrice": bid,
                    "bidQty": bid_qty,
                    "askPrice": ask,
                    "askQty": ask_qty,
                    "openPrice": opened,
                    "highPrice": _price_or_zero(ticker["high_24h"]),
                    "lowPrice": _price_or_zero(ticker["low_24h"]),
                    "volume": ticker["volume_24h"],
                    "quoteVolume": ticker["quote_volume_24h"],
                    "openTime": now - 24 * 3600 * 1000,
                    "closeTime": now,
                    "firstId": -1,
                    "lastId": -1,
                    "count": 0,
                }
            )
        return _one_or_many(params, rows)


class TickerPriceApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        pairs = _pairs_asked(params)
        rows = [
            {"symbol": binance_symbol(pair), "price": _price_or_zero(ticker["last"])}
            for pair, ticker in zip(pairs, ticker_get_many(pairs=pairs), strict=True)
        ]
        return _one_or_many(params, rows)


class BookTickerApi(BinanceApi):
    @reads_replica
    def get(self, request: Request) -> Response:
        params = Params(request)
        rows = []
        for pair in _pairs_asked(params):
            (bid, bid_qty), (ask, ask_qty) = _top(pair)
            rows.append(
                {
                    "symbol": binance_symbol(pair),
                    "bidPrice": bid,
                    "bidQty": bid_qty,
                    "askPrice": ask,
                    "askQty": ask_qty,
                }
            )
        return _one_or_many(params, rows)


# --- account and orders (signed) --------------------------------------------------------------


class AccountApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        omit_zero = params.choice(
            "omitZeroBalances",
            {"true": True, "false": False},
            invalid_parameter("omitZeroBalances"),
        )
        key = request.auth
        assert isinstance(key, ApiKey)
        balances = [
            {
                "asset": row.asset.symbol,
                "free": format_decimal(row.available, row.asset.decimals),
                "locked": format_decimal(row.locked, row.asset.decimals),
            }
            for row in balance_list_for_user(user=request.user)
            if not (omit_zero and row.total == 0)
        ]
        can_trade = ApiKey.TRADE in key.permissions
        return Response(
            {
                # Fees are per market on this exchange (asset/tradeFee); none is account-wide.
                "makerCommission": 0,
                "takerCommission": 0,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
                "canTrade": can_trade,
                "canWithdraw": ApiKey.WITHDRAW in key.permissions,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": payloads.ms(timezone.now()),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": request.user.pk,
            }
        )


# Binance order type -> (the project's type, post_only, parameters it needs, parameters it may
# take besides those). MARKET needs quantity or quoteOrderQty (checked on its own).
_ORDER_TYPES: dict[str, tuple[str, bool, tuple[str, ...], tuple[str, ...]]] = {
    "LIMIT": ("limit", False, ("timeInForce", "quantity", "price"), ()),
    "LIMIT_MAKER": ("limit", True, ("quantity", "price"), ()),
    "MARKET": ("market", False, (), ("quantity", "quoteOrderQty")),
    "STOP_LOSS": ("stop_market", False, ("quantity", "stopPrice"), ()),
    "STOP_LOSS_LIMIT": ("stop_limit", False, ("timeInForce", "quantity", "price", "stopPrice"), ()),
    "TAKE_PROFIT": ("take_profit_market", False, ("quantity", "stopPrice"), ()),
    "TAKE_PROFIT_LIMIT": (
        "take_profit_limit",
        False,
        ("timeInForce", "quantity", "price", "stopPrice"),
        (),
    ),
}
_ORDER_VALUES = ("timeInForce", "quantity", "quoteOrderQty", "price", "stopPrice")
_UNSUPPORTED_ORDER_PARAMS = ("icebergQty", "trailingDelta", "strategyType", "pegPriceType")
_SIDES = {"BUY": "buy", "SELL": "sell"}
_TIFS = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK"}
_RESPONSE_TYPES = {"ACK": "ACK", "RESULT": "RESULT", "FULL": "FULL"}


def _client_order_id(params: Params, name: str) -> str | None:
    text = params.text(name, max_length=64)
    if text is not None and not _CLIENT_ORDER_ID.match(text):
        raise BinanceError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^[A-Za-z0-9_.:-]{1,64}$'.",
        )
    return text


def _order_place_kwargs(params: Params) -> dict[str, Any]:
    """Binance's order parameters -> ``order_place``'s. Only Binance's grammar is checked here
    (which parameters a type takes, their spelling); the order's rules are the project's."""
    symbol = dashed_symbol(params.required("symbol", max_length=20))
    side = params.choice("side", _SIDES, BinanceError(INVALID_SIDE, "Invalid side."))
    if side is None:
        raise mandatory("side")
    binance_type = params.required("type", max_length=30)
    if binance_type not in _ORDER_TYPES:
        raise BinanceError(INVALID_ORDER_TYPE, "Invalid orderType.")
    project_type, post_only, needed, optional = _ORDER_TYPES[binance_type]
    for name in _UNSUPPORTED_ORDER_PARAMS:
        if params.has(name):
            raise not_required(name)
    for name in _ORDER_VALUES:
        if name in needed:
            params.required(name)
        elif name not in optional and params.has(name):
            raise not_required(name)
    quantity, quote = params.decimal("quantity"), params.decimal("quoteOrderQty")
    if binance_type == "MARKET" and (quantity is None) == (quote is None):
        if quantity is None:
            raise BinanceError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        raise not_required("quoteOrderQty")
    stp = params.choice(
        "selfTradePreventionMode",
        payloads.STP_MODES,
        invalid_parameter("selfTradePreventionMode"),
    )
    return {
        "symbol": symbol,
        "side": side,
        "type": project_type,
        "quantity": quantity,
        "quote_amount": quote,
        "price": params.decimal("price"),
        "stop_price": params.decimal("stopPrice"),
        "time_in_force": params.choice(
            "timeInForce", _TIFS, BinanceError(INVALID_TIF, "Invalid timeInForce.")
        ),
        "post_only": post_only,
        "client_order_id": _client_order_id(params, "newClientOrderId"),
        "stp_mode": stp,
    }


def _order_of(request: AuthenticatedRequest, params: Params, missing: BinanceError) -> Order:
    """The user's order named by ``orderId`` or ``origClientOrderId`` in ``symbol``'s market;
    ``missing`` when there is none."""
    symbol = dashed_symbol(params.required("symbol", max_length=20))
    order_id = params.integer("orderId")
    client_id = _client_order_id(params, "origClientOrderId")
    order: Order | None
    if order_id is not None:
        order = order_get_for_user(user=request.user, order_id=order_id)
    elif client_id is not None:
        order = (
            order_list_for_user(user=request.user, symbol=symbol)
            .filter(client_order_id=client_id)
            .first()
        )
    else:
        raise BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    if order is None or order.pair.symbol != symbol:
        raise missing
    if client_id is not None and order.client_order_id != client_id:
        raise missing
    return order


class OrderApi(SignedApi):
    api_key_permission = {"GET": ApiKey.READ, "POST": ApiKey.TRADE, "DELETE": ApiKey.TRADE}

    def post(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        response_type = params.choice(
            "newOrderRespType", _RESPONSE_TYPES, invalid_parameter("newOrderRespType")
        )
        kwargs = _order_place_kwargs(params)
        if response_type is None:  # Binance: FULL for MARKET and LIMIT orders, else ACK
            plain = kwargs["type"] in ("limit", "market") and not kwargs["post_only"]
            response_type = "FULL" if plain else "ACK"
        order = order_place(user=request.user, **kwargs)
        # Matching happens after the commit and settlement applies it: the answer is the
        # order as committed (NEW, nothing executed), as /api/v1/orders answers "pending".
        if response_type == "ACK":
            return Response(payloads.order_ack(order))
        if response_type == "RESULT":
            return Response(payloads.order_result(order))
        return Response(payloads.order_full(order, []))

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        missing = BinanceError(NO_SUCH_ORDER, "Order does not exist.")
        return Response(payloads.order_query(_order_of(request, params, missing)))

    def delete(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        _client_order_id(params, "newClientOrderId")  # Binance's id for the cancel: not kept
        unknown = BinanceError(CANCEL_REJECTED, "Unknown order sent.")
        order = _order_of(request, params, unknown)
        try:
            order = order_cancel(user=request.user, order_id=order.pk)
        except (OrderNotFound, OrderNotOpen):
            raise unknown from None
        return Response(payloads.order_cancelled(order))


class OpenOrdersApi(SignedApi):
    api_key_permission = {"GET": ApiKey.READ, "DELETE": ApiKey.TRADE}

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        symbol = params.text("symbol", max_length=20)
        orders = order_list_for_user(
            user=request.user,
            symbol=dashed_symbol(symbol) if symbol is not None else None,
            status="open",
        ).order_by("pk")
        return Response([payloads.order_query(order) for order in orders])

    def delete(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        symbol = dashed_symbol(params.required("symbol", max_length=20))
        orders = order_cancel_all(user=request.user, symbol=symbol)
        if not orders:
            raise BinanceError(CANCEL_REJECTED, "Unknown order sent.")
        return Response([payloads.order_cancelled(order) for order in orders])


class AllOrdersApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        symbol = dashed_symbol(params.required("symbol", max_length=20))
        limit = params.limit(default=500, maximum=1000)
        from_id = params.integer("orderId")
        start, end = params.time("startTime"), params.time("endTime")
        orders = order_list_for_user(user=request.user, symbol=symbol)
        if from_id is not None:
            orders = orders.filter(pk__gte=from_id)
        if start is not None:
            orders = orders.filter(created_at__gte=start)
        if end is not None:
            orders = orders.filter(created_at__lte=end)
        if from_id is not None or start is not None:
            rows = list(orders.order_by("pk")[:limit])
        else:
            rows = list(reversed(orders.order_by("-pk")[:limit]))
        return Response([payloads.order_query(order) for order in rows])


class MyTradesApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        symbol = dashed_symbol(params.required("symbol", max_length=20))
        limit = params.limit(default=500, maximum=1000)
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        start, end = params.time("startTime"), params.time("endTime")
        fills = fill_list_for_user(user=request.user, symbol=symbol)
        if order_id is not None:
            fills = fills.filter(order_id=order_id)
        if from_id is not None:
            fills = fills.filter(pk__gte=from_id)
        if start is not None:
            fills = fills.filter(created_at__gte=start)
        if end is not None:
            fills = fills.filter(created_at__lte=end)
        if from_id is not None or start is not None:
            rows = list(fills.order_by("pk")[:limit])
        else:
            rows = list(reversed(fills.order_by("-pk")[:limit]))
        return Response([payloads.my_trade(fill) for fill in rows])


# --- /sapi/v1 (signed) -----------------------------------------------------------------------


class CapitalConfigApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        Params(request)
        held = {row.asset.pk: row for row in balance_list_for_user(user=request.user)}
        zero = Decimal(0)
        body = []
        for asset in asset_list_active():
            row = held.get(asset.pk)
            free, locked = (row.available, row.locked) if row is not None else (zero, zero)
            body.append(payloads.asset_config(asset, free, locked))
        return Response(body)


def _asset_of(params: Params) -> Asset | None:
    coin = params.text("coin", max_length=10)
    return None if coin is None else asset_active_get(symbol=coin)


class DepositHistoryApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        asset = _asset_of(params)
        status = params.integer("status")
        offset = params.integer("offset", default=0, high=MAX_OFFSET)
        limit = params.limit(default=1000, maximum=1000)
        start, end = params.time("startTime"), params.time("endTime")
        deposits = deposit_list_for_user(user=request.user)
        if asset is not None:
            deposits = deposits.filter(asset=asset)
        if status is not None and status != 1:  # every simulated deposit is credited (1)
            deposits = deposits.none()
        if start is not None:
            deposits = deposits.filter(created_at__gte=start)
        if end is not None:
            deposits = deposits.filter(created_at__lte=end)
        assert offset is not None
        return Response([payloads.deposit(row) for row in deposits[offset : offset + limit]])


class WithdrawHistoryApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        asset = _asset_of(params)
        status = params.integer("status", high=6)
        offset = params.integer("offset", default=0, high=MAX_OFFSET)
        limit = params.limit(default=1000, maximum=1000)
        start, end = params.time("startTime"), params.time("endTime")
        withdrawals = withdrawal_list_for_user(user=request.user)
        if asset is not None:
            withdrawals = withdrawals.filter(asset=asset)
        if status is not None:
            withdrawals = withdrawals.filter(status__in=payloads.withdrawal_statuses(status))
        if start is not None:
            withdrawals = withdrawals.filter(created_at__gte=start)
        if end is not None:
            withdrawals = withdrawals.filter(created_at__lte=end)
        assert offset is not None
        return Response([payloads.withdrawal(row) for row in withdrawals[offset : offset + limit]])


class WithdrawApplyApi(SignedApi):
    api_key_permission = ApiKey.WITHDRAW

    def post(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        coin = params.required("coin", max_length=10)
        address = params.required("address", max_length=120)
        amount = params.decimal("amount", required=True)
        assert amount is not None
        network = params.text("network", max_length=20)
        if network is not None and network != coin.upper():
            raise invalid_parameter("network")  # one network per asset, named after it
        for name in ("addressTag", "withdrawOrderId"):
            if params.text(name, max_length=100):
                raise not_required(name)
        key = request.auth
        assert isinstance(key, ApiKey)
        withdrawal = withdrawal_request(
            user=request.user,
            asset_symbol=coin,
            amount=amount,
            address=address,
            api_key=key,
            request=request._request,
        )
        return Response({"id": str(withdrawal.pk)})


class TradeFeeApi(SignedApi):
    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        params = Params(request)
        symbol = params.text("symbol", max_length=20)
        pairs = [pair_for_symbol(symbol)] if symbol is not None else list(pair_list())
        return Response(
            [
                {
                    "symbol": binance_symbol(pair),
                    "makerCommission": format_decimal(pair.maker_fee),
                    "takerCommission": format_decimal(pair.taker_fee),
                }
                for pair in pairs
            ]
        )


class MarginPairsApi(SignedApi):
    """``margin/allPairs`` and ``margin/isolated/allPairs``: there is no margin trading here.
    ccxt asks for them while loading markets and currencies (its ``fetchMargins`` option)."""

    api_key_permission = ApiKey.READ

    def get(self, request: AuthenticatedRequest) -> Response:
        Params(request)
        return Response([])
