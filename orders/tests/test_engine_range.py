"""Every value that reaches the engine is range-checked before anything is written.

The engine works on integers below 2**53 (Lua numbers are doubles): prices and stop prices in
ticks, quantities in lots, quote budgets in quote units, and lots x ticks, the quote units a fill
costs. An order outside that range is refused with 400 ``out_of_range`` naming the field, and
leaves no order, no hold and no outbox row behind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from engine.units import MAX_ENGINE_INT, OutOfEngineRange
from markets.models import TradingPair
from markets.services import pair_create
from orders.models import Order, OrderOutbox
from orders.services import order_place
from orders.tests.conftest import balance
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from wallets.models import JournalTransaction
from wallets.seed import asset_seed_defaults

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_clean")]

D = Decimal
URL = "/api/v1/orders"
BEYOND = MAX_ENGINE_INT + 2  # 2**53 + 1: the first integer a double cannot hold


@pytest.fixture
def btc_usdt(engine_redis) -> TradingPair:
    """BTC-USDT as seeded: tick 0.01, lot 0.0001, min notional 5 USDT."""
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["BTC"],
        quote=assets["USDT"],
        tick_size=D("0.01"),
        lot_size=D("0.0001"),
        min_notional=D(5),
        maker_fee=D("0.001"),
        taker_fee=D("0.001"),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(symbol: str, side: str, type_: str, **values: object) -> dict[str, object]:
    return {"symbol": symbol, "side": side, "type": type_, **{k: str(v) for k, v in values.items()}}


# (body, field at fault). Rich users: each would be affordable if the engine could hold it.
TOO_LARGE = [
    # the example: a limit sell at 10^14 USDT is 10^16 ticks
    (body("BTC-USDT", "sell", "limit", price="100000000000000", quantity="0.0001"), "price"),
    # a price of 2**53+1 ticks on LPJ-KRW (tick 1)
    (body("LPJ-KRW", "sell", "limit", price=BEYOND, quantity=1), "price"),
    (body("LPJ-KRW", "buy", "limit", price=BEYOND, quantity=1), "price"),
    # a quantity of 2**53+1 lots
    (body("LPJ-KRW", "sell", "limit", price=1000, quantity=BEYOND), "quantity"),
    (body("LPJ-KRW", "sell", "market", quantity=BEYOND), "quantity"),
    (body("BTC-USDT", "sell", "limit", price="1", quantity="1000000000000"), "quantity"),
    # each in range, their product (the quote units of a fill) not
    (body("LPJ-KRW", "sell", "limit", price=2**27, quantity=2**27), "quantity"),
    (body("LPJ-KRW", "buy", "limit", price=2**27, quantity=2**27), "quantity"),
    (body("BTC-USDT", "sell", "limit", price="1000000000", quantity="1000"), "quantity"),
    # stop prices: alone, and times the quantity
    (
        body("LPJ-KRW", "sell", "stop_limit", price=1000, stop_price=BEYOND, quantity=1),
        "stop_price",
    ),
    (body("LPJ-KRW", "sell", "stop_market", stop_price=BEYOND, quantity=1), "stop_price"),
    (
        body("BTC-USDT", "sell", "stop_market", stop_price="100000000000000", quantity="0.0001"),
        "stop_price",
    ),
    (
        body("LPJ-KRW", "sell", "stop_limit", price=1000, stop_price=2**27, quantity=2**27),
        "quantity",
    ),
    (body("LPJ-KRW", "sell", "stop_market", stop_price=2**27, quantity=2**27), "quantity"),
    (body("LPJ-KRW", "buy", "stop_market", stop_price=BEYOND, quantity=1), "stop_price"),
    # take-profits: the same bounds
    (
        body("LPJ-KRW", "sell", "take_profit_limit", price=1000, stop_price=BEYOND, quantity=1),
        "stop_price",
    ),
    (body("LPJ-KRW", "buy", "take_profit_market", stop_price=BEYOND, quantity=1), "stop_price"),
    (body("LPJ-KRW", "sell", "take_profit_market", stop_price=2**27, quantity=2**27), "quantity"),
    (
        body("LPJ-KRW", "buy", "take_profit_market", stop_price=2000, quote_amount=BEYOND),
        "quote_amount",
    ),
    # market buys by quote amount: 2**53+1 quote units
    (body("LPJ-KRW", "buy", "market", quote_amount=BEYOND), "quote_amount"),
    (body("LPJ-KRW", "buy", "stop_market", stop_price=2000, quote_amount=BEYOND), "quote_amount"),
    (body("BTC-USDT", "buy", "market", quote_amount="10000000000"), "quote_amount"),
]


@pytest.fixture
def whale(make_user, lpj_krw, btc_usdt):
    """A user who could afford every order above (deposits are credited directly)."""
    return make_user(
        LPJ="1" + "0" * 17, KRW="1" + "0" * 17, BTC="1" + "0" * 17, USDT="1" + "0" * 17
    )


def _funds(user) -> dict[str, tuple[Decimal, Decimal]]:
    return {symbol: balance(user, symbol) for symbol in ("LPJ", "KRW", "BTC", "USDT")}


def _ids(case: tuple[dict[str, object], str]) -> str:
    order, field = case
    return f"{order['symbol']}-{order['side']}-{order['type']}-{field}"


@pytest.mark.parametrize(("order", "field"), TOO_LARGE, ids=[_ids(c) for c in TOO_LARGE])
def test_an_order_the_engine_cannot_hold_is_refused_before_anything_is_written(
    whale, order, field
) -> None:
    # given a user rich enough for the order (no trade yet, so stops are not crossed)
    before = _funds(whale)
    # when the order goes to the API
    response = client_for(whale).post(URL, order, format="json")
    # then 400 out_of_range naming the field, and no order, hold, outbox row or journal
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "out_of_range", error
    assert field in error["fields"], error
    assert not Order.objects.exists()
    assert not OrderOutbox.objects.exists()
    assert not JournalTransaction.objects.filter(kind=JournalTransaction.Kind.HOLD).exists()
    assert _funds(whale) == before


@pytest.mark.parametrize(("order", "field"), TOO_LARGE, ids=[_ids(c) for c in TOO_LARGE])
def test_the_service_refuses_what_the_api_refuses(whale, order, field) -> None:
    # given the same orders, placed through the service (what the web pages, copy trading and
    # the Binance-compatible API call)
    arguments: dict[str, Any] = {
        k: (D(v) if k in ("price", "stop_price", "quantity", "quote_amount") else v)
        for k, v in order.items()
    }
    # when / then
    with pytest.raises(OutOfEngineRange) as refused:
        order_place(user=whale, **arguments)
    assert field in refused.value.fields
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_largest_order_the_engine_holds_is_placed_and_submitted(
    lpj_krw, make_user, settle
) -> None:
    # given a seller of 2**26 lots at 2**26 ticks: 2**52 quote units, inside the range
    seller = make_user(LPJ=str(2**26))
    # when
    order = order_place(
        user=seller, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(2**26), price=D(2**26)
    )
    settle(lpj_krw)
    # then it rests in the book
    order.refresh_from_db()
    assert order.status == "open"
    assert not OrderOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_price_bound_is_inclusive_at_2_pow_53_minus_1_ticks(lpj_krw, make_user, settle) -> None:
    # given a one-lot sell at exactly 2**53-1 ticks
    seller = make_user(LPJ="1")
    # when
    order = order_place(
        user=seller,
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=D(1),
        price=D(MAX_ENGINE_INT),
    )
    settle(lpj_krw)
    # then the engine took it
    order.refresh_from_db()
    assert order.status == "open"


@pytest.mark.django_db(transaction=True)
def test_a_market_sell_worth_more_than_the_engine_holds_is_refused(
    lpj_krw, make_user, whale, settle
) -> None:
    # given a bid at 2**20 KRW, so a market sell is valued at 2**20 per lot
    bidder = make_user(KRW=str(2**21))
    order_place(
        user=bidder, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(2**20)
    )
    settle(lpj_krw)
    before = _funds(whale)
    # when a market sell of 2**34 lots (each value in range, their product 2**54 quote units)
    response = client_for(whale).post(
        URL, body("LPJ-KRW", "sell", "market", quantity=2**34), format="json"
    )
    # then it is refused like the rest, and changes nothing
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "out_of_range"
    assert "quantity" in response.json()["error"]["fields"]
    assert Order.objects.count() == 1
    assert _funds(whale) == before


@pytest.mark.django_db(transaction=True)
def test_a_market_buy_by_quantity_worth_more_than_the_engine_holds_is_refused(
    lpj_krw, make_user, whale, settle
) -> None:
    # given an ask at 2**20 KRW: a market buy by quantity goes to the engine as an IOC limit
    # at its protective price (the ask + 5%), times its lots
    asker = make_user(LPJ="1")
    order_place(
        user=asker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(1), price=D(2**20)
    )
    settle(lpj_krw)
    before = _funds(whale)
    # when a market buy of 2**33 lots (protective price x lots beyond 2**53-1 quote units)
    response = client_for(whale).post(
        URL, body("LPJ-KRW", "buy", "market", quantity=2**33), format="json"
    )
    # then
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "out_of_range"
    assert "quantity" in response.json()["error"]["fields"]
    assert Order.objects.count() == 1
    assert _funds(whale) == before
