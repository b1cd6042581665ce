"""Requests and answers of ``/api/v3`` and ``/sapi/v1``: Binance's shapes, each error code, and
hostile input (every refusal is ``{code, msg}``, never a 5xx)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings

from accounts.models import User
from binance_compat.tests.conftest import BinanceClient, binance_error
from markets.models import TradingPair
from markets.services import pair_set_status
from orders.models import Order, OrderStatus
from orders.services import order_place
from orders.tests.conftest import balance
from wallets.deposits import deposit_create

pytestmark = pytest.mark.django_db

ARABIC_ONE = "\u0661"


@pytest.fixture
def traded(lpj_krw: TradingPair, make_user, settle, django_capture_on_commit_callbacks) -> User:
    """A market with one trade (3 LPJ at 1,000 KRW) and an ask of 2 at 1,100 left; returns the
    buyer (KRW 100,000)."""
    seller, buyer = make_user(LPJ="50"), make_user(KRW="100000")
    with django_capture_on_commit_callbacks(execute=True):
        order_place(
            user=seller,
            symbol="LPJ-KRW",
            side="sell",
            type="limit",
            quantity=Decimal(3),
            price=Decimal(1000),
        )
        order_place(
            user=seller,
            symbol="LPJ-KRW",
            side="sell",
            type="limit",
            quantity=Decimal(2),
            price=Decimal(1100),
        )
        order_place(
            user=buyer,
            symbol="LPJ-KRW",
            side="buy",
            type="limit",
            quantity=Decimal(3),
            price=Decimal(1000),
        )
    settle(lpj_krw)
    return buyer


def get(path: str) -> Any:
    return Client().get(path)


# --- public ----------------------------------------------------------------------------------


def test_exchange_info_describes_each_market_with_binance_filters(lpj_krw) -> None:
    # when
    body = get("/api/v3/exchangeInfo").json()
    # then
    (market,) = body["symbols"]
    filters = {f["filterType"]: f for f in market["filters"]}
    assert (market["symbol"], market["status"], market["baseAsset"], market["quoteAsset"]) == (
        "LPJKRW",
        "TRADING",
        "LPJ",
        "KRW",
    )
    assert (market["baseAssetPrecision"], market["quotePrecision"]) == (4, 0)
    assert market["orderTypes"] == [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ]
    assert market["permissionSets"] == [["SPOT"]]
    assert filters["PRICE_FILTER"]["tickSize"] == "1"
    assert (filters["LOT_SIZE"]["stepSize"], filters["LOT_SIZE"]["minQty"]) == ("1", "1")
    assert filters["NOTIONAL"]["minNotional"] == filters["MIN_NOTIONAL"]["minNotional"] == "1000"
    assert isinstance(body["serverTime"], int)
    # one symbol, a list of them, and a halted market
    assert get("/api/v3/exchangeInfo?symbol=LPJKRW").json()["symbols"] == [market]
    listed = get('/api/v3/exchangeInfo?symbols=["LPJKRW"]').json()["symbols"]
    assert listed == [market]
    pair_set_status(pair=lpj_krw, status=TradingPair.Status.HALTED, actor=None)
    assert get("/api/v3/exchangeInfo").json()["symbols"][0]["status"] == "BREAK"


def test_market_data_in_binance_shapes(traded) -> None:
    assert get("/api/v3/ping").json() == {}
    assert abs(get("/api/v3/time").json()["serverTime"] - time.time() * 1000) < 60_000
    depth = get("/api/v3/depth?symbol=LPJKRW&limit=5").json()
    assert (depth["bids"], depth["asks"]) == ([], [["1100", "2"]])
    assert depth["lastUpdateId"] > 0
    (trade,) = get("/api/v3/trades?symbol=LPJKRW").json()
    assert (trade["price"], trade["qty"], trade["quoteQty"], trade["isBuyerMaker"]) == (
        "1000",
        "3",
        "3000",
        False,
    )
    (agg,) = get("/api/v3/aggTrades?symbol=LPJKRW").json()
    assert (agg["a"], agg["p"], agg["q"], agg["m"]) == (trade["id"], "1000", "3", False)
    assert get(f"/api/v3/aggTrades?symbol=LPJKRW&fromId={trade['id'] + 1}").json() == []
    assert get(f"/api/v3/aggTrades?symbol=LPJKRW&startTime={agg['T']}").json() == [agg]
    (kline,) = get("/api/v3/klines?symbol=LPJKRW&interval=1m").json()
    assert kline[1:6] == ["1000", "1000", "1000", "1000", "3"]
    assert kline[6] == kline[0] + 59_999
    assert (kline[7], kline[8]) == ("3000", 1)
    ticker = get("/api/v3/ticker/24hr?symbol=LPJKRW").json()
    assert (ticker["lastPrice"], ticker["askPrice"], ticker["askQty"], ticker["volume"]) == (
        "1000",
        "1100",
        "2",
        "3",
    )
    assert (ticker["bidPrice"], ticker["quoteVolume"]) == ("0", "3000")
    assert get("/api/v3/ticker/24hr").json() == [ticker | {"openTime": ANY, "closeTime": ANY}]
    assert get("/api/v3/ticker/price?symbol=LPJKRW").json() == {"symbol": "LPJKRW", "price": "1000"}
    assert get('/api/v3/ticker/price?symbols=["LPJKRW"]').json() == [
        {"symbol": "LPJKRW", "price": "1000"}
    ]
    assert get("/api/v3/ticker/bookTicker").json() == [
        {"symbol": "LPJKRW", "bidPrice": "0", "bidQty": "0", "askPrice": "1100", "askQty": "2"}
    ]


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY = _Any()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v3/depth", 400, -1102),
        ("/api/v3/depth?symbol=", 400, -1102),
        ("/api/v3/depth?symbol=NOPEKRW", 400, -1121),
        ("/api/v3/depth?symbol=LPJ-KRW", 400, -1121),
        ("/api/v3/depth?symbol=lpjkrw", 400, -1121),
        ("/api/v3/depth?symbol=LPJKRW&symbol=LPJKRW", 400, -1101),
        ("/api/v3/depth?symbol=LPJKRW&limit=NaN", 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW&limit=-1", 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW&limit=0", 400, -1130),
        ("/api/v3/depth?symbol=LPJKRW&limit=1e3", 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW&limit=Infinity", 400, -1100),
        (f"/api/v3/depth?symbol=LPJKRW&limit={ARABIC_ONE}", 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW&limit=" + "9" * 40, 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW&limit=%20100", 400, -1100),
        ("/api/v3/depth?symbol=LPJKRW%00", 400, -1100),
        ("/api/v3/depth?symbol=%FF%FE", 400, -1100),
        ("/api/v3/depth?symbol=" + "A" * 500, 400, -1100),
        ("/api/v3/klines?symbol=LPJKRW", 400, -1102),
        ("/api/v3/klines?symbol=LPJKRW&interval=3m", 400, -1120),
        ("/api/v3/klines?symbol=LPJKRW&interval=1w", 400, -1120),
        ("/api/v3/klines?symbol=LPJKRW&interval=1m&timeZone=8", 400, -1130),
        ("/api/v3/klines?symbol=LPJKRW&interval=1m&startTime=2&endTime=1", 400, -1130),
        ("/api/v3/klines?symbol=LPJKRW&interval=1m&startTime=" + "9" * 16, 400, -1130),
        ("/api/v3/trades?symbol=LPJKRW&limit=1.5", 400, -1100),
        ("/api/v3/aggTrades?symbol=LPJKRW&fromId=-3", 400, -1100),
        ("/api/v3/ticker/24hr?symbols=LPJKRW", 400, -1130),
        ("/api/v3/ticker/24hr?symbols=[]", 400, -1130),
        ('/api/v3/ticker/24hr?symbols=["NOPE"]', 400, -1121),
        ("/api/v3/ticker/24hr?symbols=[1,2]", 400, -1130),
        ('/api/v3/ticker/24hr?symbols=["LPJKRW"]&symbol=LPJKRW', 400, -1128),
        ("/api/v3/ticker/price?symbol=NaN", 400, -1121),
        ("/api/v3/exchangeInfo?symbols=[[[[[[", 400, -1130),
        ("/api/v3/nothing-here", 404, -1020),
        ("/api/v3/", 404, -1020),
        ("/sapi/v1/capital/nothing", 404, -1020),
    ],
)
def test_bad_public_requests_are_refused_in_binance_words(lpj_krw, path, status, code) -> None:
    assert binance_error(get(path)) == (status, code)


def test_a_wrong_method_or_a_json_body_is_refused_in_binance_words(lpj_krw) -> None:
    client = Client()
    assert binance_error(client.post("/api/v3/depth?symbol=LPJKRW")) == (405, -1020)
    assert binance_error(client.delete("/api/v3/ping")) == (405, -1020)


@override_settings(RATE_LIMIT_IP_WEIGHT_PER_MINUTE=12)
def test_over_the_request_budget_is_binance_s_429(lpj_krw) -> None:
    # given the address's budget spent on ping (weight 1) and exchangeInfo (weight 20 > 12)
    client = Client()
    assert binance_error(client.get("/api/v3/exchangeInfo")) == (429, -1003)
    for _ in range(12):
        client.get("/sapi/v1/asset/tradeFee")  # 401s count too
    # then both prefixes answer Binance's "too much request weight"
    response = client.get("/api/v3/ping")
    assert binance_error(response) == (429, -1003)
    assert int(response["Retry-After"]) >= 1
    assert binance_error(client.get("/sapi/v1/capital/config/getall")) == (429, -1003)
    # and /api/v1 keeps the project's envelope
    assert client.get("/api/v1/markets").json()["error"]["code"] == "rate_limited"


# --- signed requests -------------------------------------------------------------------------


def test_signed_refusals_have_binance_codes(lpj_krw, make_user, key_for) -> None:
    user = make_user(KRW="100000")
    reader, trader = key_for(user), key_for(user, "trade")
    now = int(time.time() * 1000)

    def raw(query: str, key: str = trader.key) -> Any:
        return Client().get(f"/api/v3/account?{query}", HTTP_X_MBX_APIKEY=key)

    # no key, unknown key, malformed key
    assert binance_error(Client().get("/api/v3/account")) == (401, -2014)
    assert binance_error(raw(f"timestamp={now}&signature=00", key="x" * 64)) == (401, -2015)
    assert binance_error(raw(f"timestamp={now}&signature=00", key="short")) == (401, -2015)
    # a wrong signature, a stale or future timestamp, a replay, missing parameters
    assert binance_error(raw(f"timestamp={now}&signature={'0' * 64}")) == (400, -1022)
    stale = BinanceClient(trader.key, trader.secret)
    assert binance_error(stale.signed("GET", "/api/v3/account", timestamp=now - 6000)) == (
        400,
        -1021,
    )
    assert binance_error(stale.signed("GET", "/api/v3/account", timestamp=now + 5000)) == (
        400,
        -1021,
    )
    assert binance_error(raw(f"timestamp={now}")) == (400, -1102)
    assert binance_error(raw("timestamp=NaN&signature=00")) == (400, -1102)
    query = urlencode({"timestamp": now, "recvWindow": 60000})
    from accounts.tests.signed import signature

    signed = f"{query}&signature={signature(trader.secret, query)}"
    assert raw(signed).status_code == 200
    assert binance_error(raw(signed)) == (400, -1022)  # the same signature again
    # a read-only key cannot trade; a trade key cannot withdraw
    order = {"symbol": "LPJKRW", "side": "BUY", "type": "MARKET", "quoteOrderQty": "5000"}
    assert binance_error(reader.signed("POST", "/api/v3/order", **order)) == (401, -2015)
    withdraw = {"coin": "KRW", "address": "1234567890", "amount": "5000"}
    assert binance_error(trader.signed("POST", "/sapi/v1/capital/withdraw/apply", **withdraw)) == (
        401,
        -2015,
    )
    # a key bound to another address
    elsewhere = key_for(user, "trade", ip_allowlist=["10.9.9.9"])
    assert binance_error(elsewhere.signed("GET", "/api/v3/account")) == (401, -2015)
    assert balance(user, "KRW") == (Decimal(100000), Decimal(0))


def test_account_lists_free_and_locked_balances(lpj_krw, make_user, key_for) -> None:
    user = make_user(KRW="100000", LPJ="5")
    client = key_for(user, "trade")
    client.signed(
        "POST",
        "/api/v3/order",
        symbol="LPJKRW",
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        quantity="2",
        price="1000",
    )
    body = client.signed("GET", "/api/v3/account").json()
    balances = {row["asset"]: (row["free"], row["locked"]) for row in body["balances"]}
    assert balances["LPJ"] == ("3.0000", "2.0000")
    assert balances["KRW"] == ("100000", "0")
    assert (body["canTrade"], body["canWithdraw"], body["accountType"]) == (True, False, "SPOT")
    compact = client.signed("GET", "/api/v3/account", omitZeroBalances="true").json()
    assert {row["asset"] for row in compact["balances"]} == {"KRW", "LPJ"}


# --- orders ----------------------------------------------------------------------------------

LIMIT = {
    "symbol": "LPJKRW",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "2",
    "price": "1000",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (LIMIT, {"type": "limit", "post_only": False, "time_in_force": "GTC", "price": 1000}),
        (LIMIT | {"timeInForce": "IOC"}, {"time_in_force": "IOC"}),
        (
            {
                "symbol": "LPJKRW",
                "side": "BUY",
                "type": "LIMIT_MAKER",
                "quantity": "2",
                "price": "900",
            },
            {"type": "limit", "post_only": True},
        ),
        (
            {"symbol": "LPJKRW", "side": "BUY", "type": "MARKET", "quoteOrderQty": "5000"},
            {"type": "market", "quote_amount": 5000, "quantity": None},
        ),
        (
            {
                "symbol": "LPJKRW",
                "side": "BUY",
                "type": "STOP_LOSS_LIMIT",
                "timeInForce": "GTC",
                "quantity": "2",
                "price": "1300",
                "stopPrice": "1200",
            },
            {"type": "stop_limit", "stop_price": 1200, "status": OrderStatus.PENDING},
        ),
        (
            {
                "symbol": "LPJKRW",
                "side": "SELL",
                "type": "STOP_LOSS",
                "quantity": "2",
                "stopPrice": "800",
            },
            {"type": "stop_market", "stop_price": 800},
        ),
        (
            {
                "symbol": "LPJKRW",
                "side": "SELL",
                "type": "TAKE_PROFIT_LIMIT",
                "timeInForce": "GTC",
                "quantity": "2",
                "price": "1150",
                "stopPrice": "1200",
            },
            {"type": "take_profit_limit", "price": 1150, "stop_price": 1200},
        ),
        (
            {
                "symbol": "LPJKRW",
                "side": "BUY",
                "type": "TAKE_PROFIT",
                "quantity": "2",
                "stopPrice": "800",
            },
            {"type": "take_profit_market", "stop_price": 800, "price": None},
        ),
        (LIMIT | {"selfTradePreventionMode": "EXPIRE_BOTH"}, {"stp_mode": "expire_both"}),
        (
            LIMIT | {"newClientOrderId": "x-TKT5PX2F" + "a1B2c3D4e5F6g7H8i9J0k1"},
            {"client_order_id": "x-TKT5PX2Fa1B2c3D4e5F6g7H8i9J0k1"},
        ),
    ],
)
def test_orders_become_the_project_s_orders(lpj_krw, make_user, key_for, params, expected) -> None:
    user = make_user(KRW="100000", LPJ="50")
    response = key_for(user, "trade").signed("POST", "/api/v3/order", **params)
    assert response.status_code == 200, response.content
    order = Order.objects.get(pk=response.json()["orderId"])
    for field, value in expected.items():
        assert getattr(order, field) == value, field


def test_response_types_and_idempotent_client_ids(lpj_krw, make_user, key_for) -> None:
    client = key_for(make_user(KRW="100000"), "trade")
    ack = client.signed("POST", "/api/v3/order", **LIMIT, newOrderRespType="ACK").json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = client.signed("POST", "/api/v3/order", **LIMIT, newOrderRespType="RESULT").json()
    assert (result["status"], result["executedQty"], result["origQty"]) == (
        "NEW",
        "0.0000",
        "2.0000",
    )
    assert "fills" not in result
    full = client.signed("POST", "/api/v3/order", **LIMIT, newClientOrderId="mine-1").json()
    assert (full["fills"], full["clientOrderId"], full["type"]) == ([], "mine-1", "LIMIT")
    again = client.signed("POST", "/api/v3/order", **LIMIT, newClientOrderId="mine-1").json()
    assert again["orderId"] == full["orderId"]
    other = LIMIT | {"price": "999", "newClientOrderId": "mine-1"}
    response = client.signed("POST", "/api/v3/order", **other)
    assert binance_error(response) == (400, -2010)
    assert response.json()["msg"] == "Duplicate order sent."


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"quantity": "2000"}, -2010, "Account has insufficient balance for requested action."),
        ({"price": "1000.5"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "1.5"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "1", "price": "999"}, -1013, "Filter failure: NOTIONAL"),
        ({"price": None}, -1102, None),
        ({"timeInForce": None}, -1102, None),
        ({"timeInForce": "GTD"}, -1115, "Invalid timeInForce."),
        ({"side": "HOLD"}, -1117, "Invalid side."),
        ({"side": None}, -1102, None),
        ({"type": "OCO"}, -1116, "Invalid orderType."),
        # take-profits: Binance's grammar, then hostile stop prices
        ({"type": "TAKE_PROFIT_LIMIT"}, -1102, None),
        ({"type": "TAKE_PROFIT", "stopPrice": "900"}, -1106, None),  # timeInForce
        ({"type": "TAKE_PROFIT", "stopPrice": "900", "timeInForce": None}, -1106, None),  # price
        ({"type": "TAKE_PROFIT", "timeInForce": None, "price": None}, -1102, None),
        (
            {"type": "TAKE_PROFIT", "timeInForce": None, "price": None, "stopPrice": "900"}
            | {"quoteOrderQty": "5000"},
            -1106,
            "Parameter 'quoteOrderQty' sent when not required.",
        ),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "NaN"}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "-900"}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "0"}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "9e2"}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "900\x00"}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": ARABIC_ONE}, -1100, None),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": ""}, -1102, None),
        (
            {"type": "TAKE_PROFIT_LIMIT", "stopPrice": "900.5"},
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": str(2**53 + 1)}, -1013, None),
        (
            {"type": "MARKET", "timeInForce": None},
            -1106,
            "Parameter 'price' sent when not required.",
        ),
        ({"stopPrice": "900"}, -1106, None),
        ({"icebergQty": "1"}, -1106, None),
        ({"symbol": "NOPEKRW"}, -1121, "Invalid symbol."),
        ({"quantity": "NaN"}, -1100, None),
        ({"quantity": "Infinity"}, -1100, None),
        ({"quantity": "-2"}, -1100, None),
        ({"quantity": "2e0"}, -1100, None),
        ({"quantity": "0"}, -1100, None),
        ({"quantity": ARABIC_ONE}, -1100, None),
        ({"quantity": "9" * 100}, -1100, None),
        ({"quantity": " 2"}, -1100, None),
        ({"quantity": "2\x00"}, -1100, None),
        ({"newClientOrderId": "has space"}, -1100, None),
        ({"newClientOrderId": "x" * 65}, -1100, None),
        ({"newClientOrderId": "caf\u00e9"}, -1100, None),
        ({"selfTradePreventionMode": "NONE"}, -1130, None),
        ({"newOrderRespType": "ALL"}, -1130, None),
    ],
)
def test_order_refusals_have_binance_codes(lpj_krw, make_user, key_for, params, code, msg) -> None:
    user = make_user(KRW="100000")
    order = {k: v for k, v in (LIMIT | params).items() if v is not None}
    response = key_for(user, "trade").signed("POST", "/api/v3/order", **order)
    assert binance_error(response) == (400, code)
    if msg is not None:
        assert response.json()["msg"] == msg
    assert not Order.objects.exists()
    assert balance(user, "KRW") == (Decimal(100000), Decimal(0))


def test_take_profits_report_their_type_and_are_refused_once_reached(traded, key_for) -> None:
    # given the last trade at 1,000 and a buyer holding 3 LPJ and 96,994 KRW
    client = key_for(traded, "trade")
    sell = {"symbol": "LPJKRW", "side": "SELL", "type": "TAKE_PROFIT_LIMIT", "timeInForce": "GTC"}
    buy = {"symbol": "LPJKRW", "side": "BUY", "type": "TAKE_PROFIT"}

    # when it places a take-profit sell above the last price and a take-profit buy below it
    placed_sell = client.signed(
        "POST", "/api/v3/order", **sell, quantity="2", price="1150", stopPrice="1200"
    )
    placed_buy = client.signed("POST", "/api/v3/order", **buy, quantity="2", stopPrice="900")

    # then both are taken and read back with Binance's types
    assert (placed_sell.status_code, placed_buy.status_code) == (200, 200), placed_sell.content
    queried = [
        client.signed("GET", "/api/v3/order", symbol="LPJKRW", orderId=placed.json()["orderId"])
        for placed in (placed_sell, placed_buy)
    ]
    assert [
        (q.json()["type"], q.json()["stopPrice"], q.json()["price"], q.json()["timeInForce"])
        for q in queried
    ] == [("TAKE_PROFIT_LIMIT", "1200", "1150", "GTC"), ("TAKE_PROFIT", "900", "0", "GTC")]
    # the sell holds its 2 LPJ; the market buy 2 LPJ at its protective price 945, + 0.2%
    assert balance(traded, "LPJ") == (Decimal(1), Decimal(2))
    assert balance(traded, "KRW") == (Decimal(96994 - 1894), Decimal(1894))

    # and one whose stop the last price has already reached is refused as on Binance
    for order in (
        sell | {"quantity": "1", "price": "1000", "stopPrice": "1000"},
        sell | {"quantity": "1", "price": "1000", "stopPrice": "900"},
        buy | {"quantity": "2", "stopPrice": "1000"},
        buy | {"quantity": "2", "stopPrice": "1100"},
    ):
        response = client.signed("POST", "/api/v3/order", **order)
        assert binance_error(response) == (400, -2010), order
        assert response.json()["msg"] == "Stop price would trigger immediately."
    assert Order.objects.filter(user=traded).count() == 3  # the trade's bid and the two above


def test_market_orders_need_exactly_one_amount(lpj_krw, make_user, key_for) -> None:
    client = key_for(make_user(KRW="100000"), "trade")
    market = {"symbol": "LPJKRW", "side": "BUY", "type": "MARKET"}
    assert binance_error(client.signed("POST", "/api/v3/order", **market)) == (400, -1102)
    both = market | {"quantity": "1", "quoteOrderQty": "5000"}
    assert binance_error(client.signed("POST", "/api/v3/order", **both)) == (400, -1106)


def test_duplicate_and_unreadable_bodies_are_refused(lpj_krw, make_user, key_for) -> None:
    client = key_for(make_user(KRW="100000"), "trade")
    now = int(time.time() * 1000)
    from accounts.tests.signed import signature

    def post(query: str, body: str, content_type: str) -> Any:
        sig = signature(client.secret, query + body)
        return Client().post(
            f"/api/v3/order?{query}&signature={sig}",
            data=body.encode("utf-8", "surrogateescape"),
            content_type=content_type,
            HTTP_X_MBX_APIKEY=client.key,
        )

    form = "application/x-www-form-urlencoded"
    body = urlencode(LIMIT)
    # the same parameter in the query string and the body
    assert binance_error(post(f"timestamp={now}&symbol=LPJKRW", body, form)) == (400, -1101)
    assert binance_error(post(f"timestamp={now + 1}", body + "&price=900", form)) == (400, -1101)
    # a JSON body is not Binance's
    json_body = '{"symbol": "LPJKRW"}'
    assert binance_error(post(f"timestamp={now + 2}", json_body, "application/json")) == (
        415,
        -1102,
    )
    assert not Order.objects.exists()


def test_query_cancel_and_lists(lpj_krw, make_user, key_for, settle) -> None:
    user, other = make_user(KRW="100000"), make_user(KRW="100000")
    client, stranger = key_for(user, "trade"), key_for(other, "trade")
    placed = client.signed("POST", "/api/v3/order", **LIMIT, newClientOrderId="bot-7").json()
    order_id = placed["orderId"]

    # by id, by client id; not another market's, not another user's
    by_id = client.signed("GET", "/api/v3/order", symbol="LPJKRW", orderId=order_id).json()
    by_client = client.signed("GET", "/api/v3/order", symbol="LPJKRW", origClientOrderId="bot-7")
    assert by_client.json() == by_id
    assert (by_id["status"], by_id["isWorking"], by_id["time"]) == (
        "NEW",
        False,
        placed["transactTime"],
    )
    for query in (
        {"orderId": order_id + 1},
        {"origClientOrderId": "bot-8"},
    ):
        response = client.signed("GET", "/api/v3/order", symbol="LPJKRW", **query)
        assert binance_error(response) == (400, -2013)
    response = stranger.signed("GET", "/api/v3/order", symbol="LPJKRW", orderId=order_id)
    assert binance_error(response) == (400, -2013)
    assert binance_error(client.signed("GET", "/api/v3/order", symbol="LPJKRW")) == (400, -1102)
    assert binance_error(
        client.signed("GET", "/api/v3/order", symbol="NOPE", orderId=order_id)
    ) == (400, -1121)

    # lists
    assert [o["orderId"] for o in client.signed("GET", "/api/v3/openOrders").json()] == [order_id]
    listed = client.signed("GET", "/api/v3/allOrders", symbol="LPJKRW").json()
    assert [o["orderId"] for o in listed] == [order_id]
    assert (
        client.signed("GET", "/api/v3/allOrders", symbol="LPJKRW", orderId=order_id + 1).json()
        == []
    )
    assert binance_error(client.signed("GET", "/api/v3/allOrders")) == (400, -1102)

    # cancel: someone else's is unknown; mine is cancelled once
    response = stranger.signed("DELETE", "/api/v3/order", symbol="LPJKRW", orderId=order_id)
    assert binance_error(response) == (400, -2011)
    client.signed("DELETE", "/api/v3/order", symbol="LPJKRW", orderId=order_id)
    settle(lpj_krw)
    assert (
        client.signed("GET", "/api/v3/order", symbol="LPJKRW", orderId=order_id).json()["status"]
        == "CANCELED"
    )
    response = client.signed("DELETE", "/api/v3/order", symbol="LPJKRW", orderId=order_id)
    assert binance_error(response) == (400, -2011)
    response = client.signed("DELETE", "/api/v3/openOrders", symbol="LPJKRW")
    assert binance_error(response) == (400, -2011)
    assert balance(user, "KRW") == (Decimal(100000), Decimal(0))


def test_my_trades_and_trade_fees(traded, key_for) -> None:
    client = key_for(traded)
    (fill,) = client.signed("GET", "/api/v3/myTrades", symbol="LPJKRW").json()
    assert (fill["price"], fill["qty"], fill["quoteQty"], fill["commission"]) == (
        "1000",
        "3.0000",
        "3000",
        "6",
    )
    assert (fill["commissionAsset"], fill["isBuyer"], fill["isMaker"]) == ("KRW", True, False)
    by_order = client.signed("GET", "/api/v3/myTrades", symbol="LPJKRW", orderId=fill["orderId"])
    assert by_order.json() == [fill]
    assert (
        client.signed("GET", "/api/v3/myTrades", symbol="LPJKRW", fromId=fill["id"] + 1).json()
        == []
    )
    assert client.signed("GET", "/sapi/v1/asset/tradeFee").json() == [
        {"symbol": "LPJKRW", "makerCommission": "0.001", "takerCommission": "0.002"}
    ]
    assert binance_error(client.signed("GET", "/sapi/v1/asset/tradeFee", symbol="X")) == (
        400,
        -1121,
    )


# --- wallet (/sapi/v1) -----------------------------------------------------------------------


def test_assets_deposits_and_withdrawals(lpj_krw, make_user, key_for) -> None:
    user = make_user()
    deposit_create(user=user, asset_symbol="LPJ", amount=Decimal(40))
    client = key_for(user, "trade", "withdraw")
    coins = {c["coin"]: c for c in client.signed("GET", "/sapi/v1/capital/config/getall").json()}
    (network,) = coins["LPJ"]["networkList"]
    assert (coins["LPJ"]["free"], network["withdrawFee"], network["withdrawMin"]) == (
        "40.0000",
        "1.0000",
        "10.0000",
    )
    (deposit,) = client.signed("GET", "/sapi/v1/capital/deposit/hisrec", coin="LPJ").json()
    assert (deposit["amount"], deposit["coin"], deposit["status"]) == ("40.0000", "LPJ", 1)
    assert client.signed("GET", "/sapi/v1/capital/deposit/hisrec", status=0).json() == []

    apply = {"coin": "LPJ", "address": "lpj1" + "b" * 30, "amount": "12", "network": "LPJ"}
    sent = client.signed("POST", "/sapi/v1/capital/withdraw/apply", **apply).json()
    (row,) = client.signed("GET", "/sapi/v1/capital/withdraw/history").json()
    assert (row["id"], row["amount"], row["transactionFee"], row["status"]) == (
        sent["id"],
        "12.0000",
        "1.0000",
        2,
    )
    assert balance(user, "LPJ") == (Decimal(27), Decimal(13))
    history = "/sapi/v1/capital/withdraw/history"
    assert client.signed("GET", history, status=2).json() == [row]
    assert client.signed("GET", history, status=6).json() == []
    assert client.signed("GET", history, coin="KRW").json() == []

    refusals = [
        (apply | {"network": "ETH"}, -1130),
        (apply | {"address": "not-an-lpj-address"}, -1130),
        (apply | {"amount": "5"}, -1013),
        (apply | {"amount": "1000"}, -2010),
        ({"coin": "NOPE", "address": apply["address"], "amount": "12"}, -1108),
        (apply | {"amount": "-12"}, -1100),
        (apply | {"addressTag": "memo"}, -1106),
        ({"coin": "LPJ", "amount": "12"}, -1102),
    ]
    for params, code in refusals:
        response = client.signed("POST", "/sapi/v1/capital/withdraw/apply", **params)
        assert binance_error(response) == (400, code), params
    assert balance(user, "LPJ") == (Decimal(27), Decimal(13))


HOSTILE_NUMBERS = [
    "NaN",
    "Infinity",
    "-1",
    "1e3",
    "0x10",
    ARABIC_ONE,
    "\uff11",
    "9" * 40,
    " 1",
    "1 ",
]
WITHDRAWAL = {"coin": "LPJ", "address": "lpj1" + "c" * 30, "amount": "12"}
SWEEP = [
    ("GET", "/api/v3/allOrders", {"symbol": "LPJKRW"}, "orderId"),
    ("GET", "/api/v3/allOrders", {"symbol": "LPJKRW"}, "startTime"),
    ("GET", "/api/v3/allOrders", {"symbol": "LPJKRW"}, "limit"),
    ("GET", "/api/v3/myTrades", {"symbol": "LPJKRW"}, "fromId"),
    ("GET", "/api/v3/myTrades", {"symbol": "LPJKRW"}, "endTime"),
    ("GET", "/api/v3/order", {"symbol": "LPJKRW"}, "orderId"),
    ("DELETE", "/api/v3/order", {"symbol": "LPJKRW"}, "orderId"),
    ("GET", "/sapi/v1/capital/deposit/hisrec", {}, "offset"),
    ("GET", "/sapi/v1/capital/withdraw/history", {}, "status"),
    ("POST", "/api/v3/order", LIMIT, "quantity"),
    ("POST", "/api/v3/order", LIMIT, "price"),
    (
        "POST",
        "/api/v3/order",
        {"symbol": "LPJKRW", "side": "BUY", "type": "MARKET"},
        "quoteOrderQty",
    ),
    ("POST", "/sapi/v1/capital/withdraw/apply", WITHDRAWAL, "amount"),
]


@pytest.mark.parametrize(("method", "path", "params", "name"), SWEEP)
def test_hostile_numbers_are_refused_everywhere(
    lpj_krw, make_user, key_for, method, path, params, name
) -> None:
    # given a funded user with a key that may do everything
    user = make_user(KRW="100000", LPJ="50")
    client = key_for(user, "trade", "withdraw")
    for value in HOSTILE_NUMBERS:
        # when a number parameter is not a plain ASCII number
        response = client.signed(method, path, **(params | {name: value}))
        # then it is Binance's -1100, and nothing was written
        assert binance_error(response) == (400, -1100), (name, value, response.content)
    assert not Order.objects.exists()
    assert balance(user, "KRW") == (Decimal(100000), Decimal(0))
    assert balance(user, "LPJ") == (Decimal(50), Decimal(0))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v3/openOrders"),
        ("GET", "/api/v3/allOrders"),
        ("GET", "/api/v3/myTrades"),
        ("DELETE", "/api/v3/openOrders"),
        ("GET", "/sapi/v1/asset/tradeFee"),
    ],
)
def test_signed_endpoints_refuse_bad_symbols(lpj_krw, make_user, key_for, method, path) -> None:
    client = key_for(make_user(), "trade")
    for symbol, code in (("LPJ-KRW", -1121), ("NOPE", -1121), ("lpjkrw", -1121), ("\u00e9", -1100)):
        assert binance_error(client.signed(method, path, symbol=symbol)) == (400, code), symbol
