"""The real ``ccxt`` package's ``binance`` class, unmodified but for its URLs and keys, against a
live server (uvicorn + ``settle``, ``tradehive.testing.processes.live_exchange``): markets,
market data, trading, wallet history, withdrawals and its error mapping, with balances checked
exactly afterwards and the ledger's invariants checked at the end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from accounts.models import User
from binance_compat.tests.conftest import BinanceClient
from orders.models import Order, OrderStatus
from orders.tests.conftest import balance
from tradehive.testing.processes import live_exchange, wait_until
from wallets.deposits import deposit_create
from wallets.verification import ledger_verify

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SYMBOL = "LPJ/KRW"
# The budget of one user's request weight per minute in these servers: small enough that the
# rate-limit test reaches it in a few dozen calls, large enough for every other test.
USER_WEIGHT_PER_MINUTE = 1000


def binance(base: str, client: BinanceClient | None = None) -> Any:
    """``ccxt.binance`` pointed at ``base`` (the configuration docs/bots.md gives)."""
    config: dict[str, Any] = {
        "urls": {
            "api": {
                "public": f"http://{base}/api/v3",
                "private": f"http://{base}/api/v3",
                "sapi": f"http://{base}/sapi/v1",
            }
        },
        "options": {"fetchMarkets": {"types": ["spot"]}},
        "timeout": 10_000,
    }
    if client is not None:
        config.update(apiKey=client.key, secret=client.secret)
    return ccxt.binance(config)


@pytest.fixture
def server(lpj_krw) -> Iterator[str]:
    with live_exchange(RATE_LIMIT_USER_WEIGHT_PER_MINUTE=str(USER_WEIGHT_PER_MINUTE)) as base:
        yield base


@pytest.fixture
def ledger_checked() -> Iterator[None]:
    """The money-moving tests end with ``ledger_check``'s invariants holding."""
    yield
    problems = ledger_verify()
    assert problems == [], [str(p) for p in problems]


def settled(exchange: Any, order: dict[str, Any], done: Callable[[dict[str, Any]], bool]) -> Any:
    """The order, fetched until ``done`` says settlement has applied what the engine did."""
    latest: dict[str, Any] = {}

    def check() -> bool:
        latest.update(exchange.fetch_order(order["id"], SYMBOL))
        return done(latest)

    wait_until(check, timeout=10, what=f"order {order['id']} to settle")
    return latest


def closed(order: dict[str, Any]) -> bool:
    return order["status"] in ("closed", "canceled", "expired", "rejected")


def test_public_data_and_currencies(server, make_user, key_for) -> None:
    # given a market with a resting ask and a trade, and a reading key
    seller, buyer = make_user(LPJ="100"), make_user(KRW="100000")
    selling, buying = binance(server, key_for(seller, "trade")), binance(server, key_for(buyer))
    ask = selling.create_order(SYMBOL, "limit", "sell", 5, 1200)
    wait_until(lambda: selling.fetch_order(ask["id"], SYMBOL)["info"]["isWorking"], what="ask")
    buyer_trading = binance(server, key_for(buyer, "trade"))
    take = buyer_trading.create_order(SYMBOL, "limit", "buy", 2, 1200)
    settled(buyer_trading, take, closed)

    # when ccxt loads the markets and reads market data
    markets = buying.load_markets()
    currencies = buying.fetch_currencies()
    ticker = buying.fetch_ticker(SYMBOL)
    tickers = buying.fetch_tickers([SYMBOL])
    book = buying.fetch_order_book(SYMBOL, limit=10)
    trades = buying.fetch_trades(SYMBOL)
    candles = buying.fetch_ohlcv(SYMBOL, "1m")

    # then everything reads as it does on Binance
    market = markets[SYMBOL]
    assert (market["id"], market["base"], market["quote"], market["spot"]) == (
        "LPJKRW",
        "LPJ",
        "KRW",
        True,
    )
    assert market["active"] is True
    assert market["precision"] == {"amount": 1.0, "price": 1.0, "base": 0.0001, "quote": 1.0}
    assert market["limits"]["amount"]["min"] == 1.0
    assert market["limits"]["cost"]["min"] == 1000.0
    assert currencies["LPJ"]["networks"]["LPJ"]["fee"] == 1.0
    assert currencies["KRW"]["networks"]["KRW"]["limits"]["withdraw"]["min"] == 5000.0
    assert (ticker["symbol"], ticker["last"], ticker["ask"]) == (SYMBOL, 1200.0, 1200.0)
    assert (ticker["baseVolume"], ticker["quoteVolume"]) == (2.0, 2400.0)
    assert list(tickers) == [SYMBOL]
    assert (book["asks"], book["bids"]) == ([[1200.0, 3.0]], [])
    assert [(t["price"], t["amount"], t["side"]) for t in trades] == [(1200.0, 2.0, "buy")]
    assert [candle[1:] for candle in candles] == [[1200.0, 1200.0, 1200.0, 1200.0, 2.0]]


def test_trading_with_every_order_kind_and_exact_balances(
    server, make_user, key_for, lpj_krw, ledger_checked
) -> None:
    # given a seller resting 10 LPJ at 1,000 KRW and a buyer with 1,000,000 KRW
    seller, buyer = make_user(LPJ="100"), make_user(KRW="1000000")
    selling = binance(server, key_for(seller, "trade"))
    buying = binance(server, key_for(buyer, "trade"))
    ask = selling.create_order(SYMBOL, "limit", "sell", 10, 1000)
    assert (ask["status"], ask["clientOrderId"][:2]) == ("open", "x-")
    settled(selling, ask, lambda o: o["info"]["isWorking"])

    # when the buyer buys at market by quantity, at market by cost, IOC and FOK
    market_buy = buying.create_order(SYMBOL, "market", "buy", 4)
    assert settled(buying, market_buy, closed)["filled"] == 4.0
    by_cost = buying.create_market_buy_order_with_cost(SYMBOL, 2000)
    by_cost = settled(buying, by_cost, closed)
    assert (by_cost["status"], by_cost["filled"], by_cost["cost"]) == ("closed", 2.0, 2000.0)
    ioc = buying.create_order(SYMBOL, "limit", "buy", 5, 1000, {"timeInForce": "IOC"})
    ioc = settled(buying, ioc, closed)
    assert (ioc["status"], ioc["filled"], ioc["remaining"]) == ("expired", 4.0, 1.0)
    fok = buying.create_order(SYMBOL, "limit", "buy", 1, 1000, {"timeInForce": "FOK"})
    fok = settled(buying, fok, closed)
    assert (fok["status"], fok["filled"], fok["timeInForce"]) == ("expired", 0.0, "FOK")

    # and places a post-only bid and a stop-limit, then cancels them
    maker = buying.create_order(SYMBOL, "limit", "buy", 2, 900, {"postOnly": True})
    assert settled(buying, maker, lambda o: o["info"]["isWorking"])["postOnly"] is True
    stop = buying.create_order(SYMBOL, "limit", "buy", 1, 1200, {"triggerPrice": 1100})
    assert (stop["type"], stop["triggerPrice"]) == ("limit", 1100.0)
    open_ids = {o["id"] for o in buying.fetch_open_orders(SYMBOL)}
    assert open_ids == {maker["id"], stop["id"]}
    cancelled = buying.cancel_order(maker["id"], SYMBOL)
    assert cancelled["id"] == maker["id"]
    assert settled(buying, maker, closed)["status"] == "canceled"
    buying.cancel_order(stop["id"], SYMBOL)
    assert settled(buying, stop, closed)["status"] == "canceled"

    # then the histories and balances are exact
    closed_orders = buying.fetch_closed_orders(SYMBOL)  # ccxt keeps status "closed" only
    assert [o["id"] for o in closed_orders] == [market_buy["id"], by_cost["id"]]
    every_order = buying.fetch_orders(SYMBOL)
    assert [(o["id"], o["status"]) for o in every_order] == [
        (market_buy["id"], "closed"),
        (by_cost["id"], "closed"),
        (ioc["id"], "expired"),
        (fok["id"], "expired"),
        (maker["id"], "canceled"),
        (stop["id"], "canceled"),
    ]
    assert buying.fetch_open_orders(SYMBOL) == []
    fills = buying.fetch_my_trades(SYMBOL)
    assert [(f["price"], f["amount"], f["takerOrMaker"]) for f in fills] == [
        (1000.0, 4.0, "taker"),
        (1000.0, 2.0, "taker"),
        (1000.0, 4.0, "taker"),
    ]
    assert sum(Decimal(f["info"]["commission"]) for f in fills) == Decimal(20)
    fees = buying.fetch_trading_fees()
    assert (fees[SYMBOL]["maker"], fees[SYMBOL]["taker"]) == (0.001, 0.002)
    # 10 LPJ for 10,000 KRW and 0.2% taker fees (20 KRW); the seller pays 0.1% (10 KRW)
    assert balance(buyer, "KRW") == (Decimal(989980), Decimal(0))
    assert balance(buyer, "LPJ") == (Decimal(10), Decimal(0))
    assert balance(seller, "KRW") == (Decimal(9990), Decimal(0))
    assert balance(seller, "LPJ") == (Decimal(90), Decimal(0))
    wallet = {
        row["asset"]: (Decimal(row["free"]), Decimal(row["locked"]))
        for row in buying.fetch_balance()["info"]["balances"]
    }
    assert wallet["KRW"] == (Decimal(989980), Decimal(0))
    assert wallet["LPJ"] == (Decimal(10), Decimal(0))


def test_take_profit_orders_wait_trigger_the_other_way_from_stops_and_fill(
    server, make_user, key_for, ledger_checked
) -> None:
    # given a trade at 1,000 between a market maker and a taker, and a bot with 5 LPJ, 5,000 KRW
    maker, taker = make_user(LPJ="100", KRW="100000"), make_user(LPJ="100", KRW="100000")
    making, taking = (
        binance(server, key_for(maker, "trade")),
        binance(server, key_for(taker, "trade")),
    )
    bot_user = make_user(LPJ="5", KRW="5000")
    bot = binance(server, key_for(bot_user, "trade"))

    def trade_at(price: int) -> None:
        ask = making.create_order(SYMBOL, "limit", "sell", 2, price)
        settled(making, ask, lambda o: o["info"]["isWorking"])
        settled(taking, taking.create_order(SYMBOL, "limit", "buy", 2, price), closed)

    def untriggered(order: dict[str, Any]) -> None:
        wait_until(
            lambda: Order.objects.get(pk=order["id"]).status == OrderStatus.UNTRIGGERED,
            what=f"order {order['id']} to wait for its stop",
        )

    trade_at(1000)

    # when the bot places a take-profit limit sell the unified way (takeProfitPrice) and a
    # take-profit market buy by Binance's type
    tp_sell = bot.create_order(SYMBOL, "limit", "sell", 2, 1050, {"takeProfitPrice": 1100})
    tp_buy = bot.create_order(SYMBOL, "TAKE_PROFIT", "buy", 2, None, {"stopPrice": 950})
    untriggered(tp_sell)
    untriggered(tp_buy)
    # and a trade at 1,100 lifts the price into the sell with a bid of 2 at 1,060 to sell into,
    # then one at 950 lowers it into the buy with an ask of 2 at 960 to buy from
    making.create_order(SYMBOL, "limit", "buy", 2, 1060)
    trade_at(1100)
    sold = settled(bot, tp_sell, closed)
    making.create_order(SYMBOL, "limit", "sell", 2, 960)
    trade_at(950)
    bought = settled(bot, tp_buy, closed)

    # then ccxt reads them as Binance's take-profits, each filled as a taker
    assert (tp_sell["info"]["type"], tp_sell["takeProfitPrice"]) == ("TAKE_PROFIT_LIMIT", 1100.0)
    assert (tp_buy["info"]["type"], tp_buy["triggerPrice"]) == ("TAKE_PROFIT", 950.0)
    assert (sold["type"], sold["status"], sold["filled"], sold["average"]) == (
        "limit",
        "closed",
        2.0,
        1060.0,
    )
    assert (bought["type"], bought["status"], bought["filled"], bought["average"]) == (
        "market",
        "closed",
        2.0,
        960.0,
    )
    # 2,120 in less a 4 KRW fee, 1,920 out plus a 3 KRW fee (0.2% rounded down)
    assert balance(bot_user, "KRW") == (Decimal(5000 + 2116 - 1923), Decimal(0))
    assert balance(bot_user, "LPJ") == (Decimal(5), Decimal(0))
    # and one whose stop the last price (960) has already reached is refused as on Binance
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        bot.create_order(SYMBOL, "limit", "sell", 1, 1000, {"takeProfitPrice": 960})
    assert balance(bot_user, "LPJ") == (Decimal(5), Decimal(0))


def test_deposits_withdrawals_and_the_error_mapping(
    server, make_user, key_for, ledger_checked
) -> None:
    # given a user with a deposit and a withdraw key (MFA and an allow-list, as required)
    user: User = make_user(KRW="1000")
    deposit_create(user=user, asset_symbol="LPJ", amount=Decimal(50))
    exchange = binance(server, key_for(user, "trade", "withdraw"))

    # when it withdraws and reads its history
    sent = exchange.withdraw("LPJ", 20, "lpj1" + "a" * 30)
    deposits = exchange.fetch_deposits("LPJ")
    withdrawals = exchange.fetch_withdrawals("LPJ")

    # then both are there as on Binance, and the withdrawal holds amount + fee
    assert [(d["amount"], d["currency"], d["status"]) for d in deposits] == [(50.0, "LPJ", "ok")]
    assert [(w["id"], w["amount"], w["status"], w["fee"]["cost"]) for w in withdrawals] == [
        (sent["id"], 20.0, "pending", 1.0)
    ]
    assert balance(user, "LPJ") == (Decimal(29), Decimal(21))

    # and each refusal raises the ccxt exception it raises on Binance
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order(SYMBOL, "limit", "buy", 10, 1000)
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):  # off the tick (ccxt would
        exchange.privatePostOrder(  # round it to the tick itself: sent as raw parameters)
            {"symbol": "LPJKRW", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
            | {"quantity": "1", "price": "1000.5"}
        )
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("999999", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order("999999", SYMBOL)
    with pytest.raises(ccxt.BadSymbol):
        exchange.publicGetDepth({"symbol": "NOPEKRW"})
    stranger = binance(server, BinanceClient("x" * 64, "not-the-secret"))
    with pytest.raises(ccxt.AuthenticationError):
        stranger.fetch_balance()
    wrong_secret = binance(server, BinanceClient(exchange.apiKey, "not-the-secret"))
    with pytest.raises(ccxt.AuthenticationError):
        wrong_secret.privateGetAccount()
    assert balance(user, "KRW") == (Decimal(1000), Decimal(0))

    # and past its request budget a client is refused with 429, which ccxt raises as Binance's
    # (DDoSProtection for a 429 status, RateLimitExceeded for code -1003 in another status)
    # The budget is a clock-aligned minute: a run that straddles a minute's edge spends into two
    # windows, so it keeps going for up to two budgets' worth; one window must then overflow.
    def spend_the_budget() -> None:
        for _ in range(2 * (USER_WEIGHT_PER_MINUTE // 20) + 2):  # /account weighs 20
            exchange.privateGetAccount()

    with pytest.raises((ccxt.DDoSProtection, ccxt.RateLimitExceeded)) as refused:
        spend_the_budget()
    message = str(refused.value)
    assert json.loads(message[message.index("{") :])["code"] == -1003
