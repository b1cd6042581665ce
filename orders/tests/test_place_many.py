"""``orders_place_many``: many users' orders of one market in one statement, each decided as
``order_place`` decides one (terms, holds through the ledger), then settled like any order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from markets.errors import MarketHalted
from markets.services import pair_set_status
from orders.errors import BelowMinNotional
from orders.models import Order, OrderOutbox
from orders.services import PlaceRequest, order_place, orders_place_many
from orders.tests.conftest import balance
from wallets.errors import InsufficientFunds
from wallets.models import JournalTransaction, LedgerEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def buy(user, quantity: str, price: str = "1000") -> PlaceRequest:
    return PlaceRequest(
        user_id=user.pk,
        side="buy",
        type="limit",
        quantity=D(quantity),
        price=D(price),
        time_in_force="IOC",
    )


def test_each_order_is_decided_alone_and_the_placed_ones_settle(lpj_krw, make_user, settle) -> None:
    # given an ask of 10 at 1,000 and four buyers: two funded, one poor, one too small
    order_place(
        user=make_user(LPJ="10"),
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=D(10),
        price=D(1000),
    )
    settle(lpj_krw)
    rich, also_rich, poor = (make_user(KRW="100000") for _ in range(3))
    poor_funds = make_user(KRW="500")
    # when they all place in one call
    results = orders_place_many(
        symbol="LPJ-KRW",
        requests=[buy(rich, "4"), buy(poor_funds, "2"), buy(also_rich, "0.5"), buy(poor, "6")],
    )
    # then each got its own answer: placed, insufficient funds, off the lot, placed
    assert isinstance(results[0], Order)
    assert isinstance(results[1], InsufficientFunds)
    assert not isinstance(results[2], Order)
    assert results[2].code == "invalid_precision"
    assert isinstance(results[3], Order)
    # and the placed ones hold exactly what order_place would (price x qty x 1.002, rounded up)
    assert balance(rich, "KRW") == (D(100000) - D(4008), D(4008))
    assert balance(poor, "KRW") == (D(100000) - D(6012), D(6012))
    assert balance(poor_funds, "KRW") == (D(500), D(0))
    assert OrderOutbox.objects.count() == 2
    placed = [r.pk for r in results if isinstance(r, Order)]
    hold_journals = JournalTransaction.objects.filter(
        kind="hold", reference__in=[f"order:{pk}" for pk in placed]
    )
    assert hold_journals.count() == 2
    assert LedgerEntry.objects.filter(journal__in=hold_journals).count() == 4
    # when settlement runs, then both filled against the ask and the holds were released
    settle(lpj_krw)
    assert balance(rich, "LPJ") == (D(4), D(0))
    assert balance(poor, "LPJ") == (D(6), D(0))
    assert balance(rich, "KRW") == (D(100000) - D(4008), D(0))


def test_a_halted_market_refuses_every_order(lpj_krw, make_user) -> None:
    users = [make_user(KRW="100000") for _ in range(3)]
    pair_set_status(pair=lpj_krw, status="halted", actor=None)
    results = orders_place_many(symbol="LPJ-KRW", requests=[buy(u, "1") for u in users])
    assert all(isinstance(r, MarketHalted) for r in results)
    assert not Order.objects.exists()


def test_below_the_minimum_and_one_order_per_user(lpj_krw, make_user) -> None:
    user = make_user(KRW="100000")
    [result] = orders_place_many(symbol="LPJ-KRW", requests=[buy(user, "1", "999")])
    assert isinstance(result, BelowMinNotional)
    with pytest.raises(ValueError, match="one order per user"):
        orders_place_many(symbol="LPJ-KRW", requests=[buy(user, "1"), buy(user, "2")])


def test_each_shape_is_checked_once_and_each_size_per_order(lpj_krw, make_user) -> None:
    # given buyers at two prices, two of them off the tick, and a seller
    on_tick = [make_user(KRW="100000") for _ in range(2)]
    off_tick = [make_user(KRW="100000") for _ in range(2)]
    seller = make_user(LPJ="5")
    sell = PlaceRequest(
        user_id=seller.pk,
        side="sell",
        type="limit",
        quantity=D(5),
        price=D(1010),
        time_in_force="GTC",
    )
    # when they place in one call
    results = orders_place_many(
        symbol="LPJ-KRW",
        requests=[
            buy(on_tick[0], "2", "1000"),
            buy(off_tick[0], "2", "1000.5"),
            buy(on_tick[1], "3", "1001"),
            buy(off_tick[1], "0.5", "1000.5"),
            sell,
        ],
    )
    # then the off-tick shape refuses both of its orders on the price, whatever their size
    for refused in (results[1], results[3]):
        assert not isinstance(refused, Order)
        assert (refused.code, list(refused.fields)) == ("invalid_precision", ["price"])
    # and each order of a valid shape holds what its own size needs, as order_place would
    assert balance(on_tick[0], "KRW") == (D(100000) - D(2004), D(2004))
    # (3 x 1,001 x 1.002 = 3,009.006, rounded up to KRW's whole units)
    assert balance(on_tick[1], "KRW") == (D(100000) - D(3010), D(3010))
    assert balance(seller, "LPJ") == (D(0), D(5))
    assert [type(r) for r in results].count(Order) == 3
    for user in off_tick:
        assert balance(user, "KRW") == (D(100000), D(0))
