"""Matching resting orders against price windows, settled through the real ledger.

Market XRP-KRW (sim-priced): tick 1 KRW, lot 1 XRP, maker fee 0.1%, taker fee 0.2%, fees in
KRW rounded down; a buy holds ceil(price x qty x 1.002). Feed fills are whole orders at the
order's own price against the house; the resting order is the maker."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import override_settings

from feeds.tests.conftest import HOUSE_KRW, HOUSE_XRP
from markets.errors import StalePrice
from markets.models import Trade
from orders.models import Fill, Order
from orders.services import order_place
from orders.tests.conftest import balance
from wallets.models import Account, Asset
from wallets.selectors import balance_get
from wallets.services import wallet_system_account

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def place(user, side, quantity=None, price=None, type="limit", **kwargs) -> Order:
    return order_place(
        user=user,
        symbol="XRP-KRW",
        side=side,
        type=type,
        quantity=D(quantity) if quantity is not None else None,
        price=D(price) if price is not None else None,
        **kwargs,
    )


def house(symbol: str) -> Decimal:
    return balance_get(
        account=wallet_system_account(kind=Account.Kind.HOUSE),
        asset=Asset.objects.get(symbol=symbol),
    ).available


def fee_income() -> Decimal:
    return balance_get(
        account=wallet_system_account(kind=Account.Kind.FEE), asset=Asset.objects.get(symbol="KRW")
    ).available


def test_resting_buy_at_100_fills_when_the_window_holds_99(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a resting buy of 10 @ 100 (holds ceil(1000 x 1.002) = 1002)
    buyer = make_user(KRW="10000")
    bid = place(buyer, "buy", "10", "100")
    settle(xrp_krw)
    # when the feed observes 99 and a matching pass runs
    observe(xrp_krw, "99")
    outcome = match_pass()
    settle(xrp_krw)
    # then the whole order filled at its own price 100 against the house, maker fee 1
    assert outcome.fills == 1
    bid.refresh_from_db()
    assert (bid.status, bid.filled_quantity, bid.filled_quote, bid.fee_paid) == (
        "filled",
        D(10),
        D(1000),
        D(1),
    )
    assert balance(buyer, "KRW") == (D(10000 - 1001), D(0))
    assert balance(buyer, "XRP") == (D(10), D(0))
    assert (house("XRP"), house("KRW")) == (HOUSE_XRP - 10, HOUSE_KRW + 1000)
    assert fee_income() == D(1)
    trade = Trade.objects.get()
    assert (
        trade.price,
        trade.quantity,
        trade.taker_side,
        trade.maker_order_id,
        trade.taker_order_id,
    ) == (D(100), D(10), "sell", bid.pk, None)
    fill = Fill.objects.get()
    assert (fill.order_id, fill.liquidity, fill.fee) == (bid.pk, "maker", D(1))


def test_resting_sell_fills_when_the_price_reaches_it(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a resting sell of 5 @ 120
    seller = make_user(XRP="5")
    ask = place(seller, "sell", "5", "120")
    settle(xrp_krw)
    # when the feed observes 119 (not crossed) and then 121 (crossed)
    observe(xrp_krw, "119")
    match_pass()
    settle(xrp_krw)
    ask.refresh_from_db()
    assert ask.status == "open"
    observe(xrp_krw, "121")
    match_pass()
    settle(xrp_krw)
    # then it sold 5 @ 120 = 600 less the maker fee 0 (0.6 rounds down)
    ask.refresh_from_db()
    assert (ask.status, ask.filled_quantity, ask.filled_quote) == ("filled", D(5), D(600))
    assert balance(seller, "KRW") == (D(600), D(0))
    assert balance(seller, "XRP") == (D(0), D(0))
    assert (house("XRP"), house("KRW")) == (HOUSE_XRP + 5, HOUSE_KRW - 600)


def test_an_order_accepted_after_the_observation_is_not_filled_by_it(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given an observation of 99 already in the window
    observe(xrp_krw, "99")
    # when a buy @ 100 is accepted after it and a pass runs
    bid = place(make_user(KRW="10000"), "buy", "10", "100")
    settle(xrp_krw)
    outcome = match_pass()
    settle(xrp_krw)
    # then the pass read the observation but did not fill the later order
    assert outcome.passes["XRP-KRW"].observations == 1
    assert outcome.fills == 0
    bid.refresh_from_db()
    assert bid.status == "open"
    # and the next observation of 99 (after the order) fills it
    observe(xrp_krw, "99")
    match_pass()
    settle(xrp_krw)
    bid.refresh_from_db()
    assert bid.status == "filled"


def test_a_window_of_101_99_101_fills_the_order_once(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a resting buy of 10 @ 100
    buyer = make_user(KRW="10000")
    bid = place(buyer, "buy", "10", "100")
    settle(xrp_krw)
    # when one window holds 101, 99, 101
    observe(xrp_krw, "101", "99", "101")
    outcome = match_pass()
    settle(xrp_krw)
    # then duplicates collapsed to two prices and the order filled exactly once
    result = outcome.passes["XRP-KRW"]
    assert (result.observations, result.distinct_prices) == (3, 2)
    assert Fill.objects.count() == 1
    assert Trade.objects.count() == 1
    bid.refresh_from_db()
    assert (bid.status, bid.filled_quantity) == ("filled", D(10))
    assert balance(buyer, "XRP") == (D(10), D(0))
    # and a second pass over an empty window does nothing
    assert match_pass().passes["XRP-KRW"].observations == 0


def test_the_feed_fills_whole_orders_never_partially(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a buy of 10 @ 100 partly filled by a user's sell of 4, and a buy of 7 @ 98
    buyer = make_user(KRW="10000")
    bid = place(buyer, "buy", "10", "100")
    low = place(buyer, "buy", "7", "98")
    place(make_user(XRP="4"), "sell", "4", "100")
    settle(xrp_krw)
    bid.refresh_from_db()
    assert (bid.status, bid.filled_quantity) == ("partially_filled", D(4))
    # when the feed observes 99
    observe(xrp_krw, "99")
    match_pass()
    settle(xrp_krw)
    # then the crossed order's whole remainder (6) filled in one fill; 98 was not crossed
    house_fills = Fill.objects.filter(order=bid, liquidity="maker").order_by("id")
    assert [f.quantity for f in house_fills] == [D(4), D(6)]
    bid.refresh_from_db()
    low.refresh_from_db()
    assert (bid.status, bid.filled_quantity) == ("filled", D(10))
    assert (low.status, low.filled_quantity) == ("open", D(0))
    # and an observation at 98 fills all 7 of the other at once
    observe(xrp_krw, "98")
    match_pass()
    settle(xrp_krw)
    low.refresh_from_db()
    assert (low.status, low.filled_quantity) == ("filled", D(7))
    assert Fill.objects.filter(order=low).count() == 1


def test_a_stop_limit_triggers_on_the_feed_rests_then_fills(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a stop buy: stop 105, limit 106, 5 XRP (holds ceil(530 x 1.002) = 532)
    buyer = make_user(KRW="1000")
    stop = place(buyer, "buy", "5", "106", type="stop_limit", stop_price=D(105))
    settle(xrp_krw)
    stop.refresh_from_db()
    assert stop.status == "untriggered"
    # when the feed observes 104 (no trigger), then 105 (trigger)
    observe(xrp_krw, "104")
    assert match_pass().triggered == 0
    observe(xrp_krw, "105")
    outcome = match_pass()
    settle(xrp_krw)
    # then it triggered and rests at 106 (no fill: it was triggered after that observation)
    assert (outcome.triggered, outcome.fills) == (1, 0)
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity) == ("open", D(0))
    # and the next observation at or under 106 fills it whole at 106
    observe(xrp_krw, "105")
    match_pass()
    settle(xrp_krw)
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity, stop.filled_quote, stop.fee_paid) == (
        "filled",
        D(5),
        D(530),
        D(0),
    )
    assert balance(buyer, "KRW") == (D(1000 - 530), D(0))


def test_a_stop_limit_triggered_by_the_feed_can_fill_against_the_book(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a user's ask 3 @ 100 and a stop sell: stop 95, limit 90, 3 XRP
    place(make_user(XRP="3"), "sell", "3", "100")
    seller = make_user(XRP="3")
    stop = place(seller, "sell", "3", "90", type="stop_limit", stop_price=D(95))
    buyer = make_user(KRW="1000")
    bid = place(buyer, "buy", "3", "92")
    settle(xrp_krw)
    # when the feed observes 95 (the resting bid @ 92 is not crossed by 95)
    observe(xrp_krw, "95")
    outcome = match_pass()
    settle(xrp_krw)
    # then the stop triggered and sold to the resting bid at the bid's price 92
    assert outcome.triggered == 1
    stop.refresh_from_db()
    bid.refresh_from_db()
    assert (stop.status, stop.filled_quote) == ("filled", D(276))
    assert (bid.status, bid.filled_quantity) == ("filled", D(3))
    assert balance(seller, "KRW") == (D(276) - D(0), D(0))  # taker fee 0.552 rounds to 0


def test_a_stop_market_sell_triggered_by_the_feed_sells_to_the_house_at_the_feed_price(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a stop-market sell of 3 XRP at stop 95, and nothing in the users' book
    seller = make_user(XRP="3")
    stop = place(seller, "sell", "3", type="stop_market", stop_price=D(95))
    settle(xrp_krw)
    house_krw, house_xrp = house("KRW"), house("XRP")
    # when the feed observes 96 (no trigger), then 95
    observe(xrp_krw, "96")
    assert match_pass().triggered == 0
    observe(xrp_krw, "95")
    outcome = match_pass()
    settle(xrp_krw)
    # then it sold all 3 to the house at 95 (285 KRW; taker fee 0.57 rounds down to 0)
    assert outcome.triggered == 1
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity, stop.filled_quote, stop.fee_paid) == (
        "filled",
        D(3),
        D(285),
        D(0),
    )
    assert balance(seller, "XRP") == (D(0), D(0))
    assert balance(seller, "KRW") == (D(285), D(0))
    assert (house("KRW"), house("XRP")) == (house_krw - 285, house_xrp + 3)
    trade = Trade.objects.get(pair=xrp_krw)
    assert (trade.price, trade.quantity, trade.maker_order_id) == (D(95), D(3), None)


def test_a_stop_market_buy_triggered_by_the_feed_buys_from_the_house_within_its_protection(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a stop-market buy of 5 XRP at stop 105: protective price ceil(105 x 1.05) = 111,
    # so it holds ceil(111 x 5 x 1.002) = 557
    buyer = make_user(KRW="1000")
    stop = place(buyer, "buy", "5", type="stop_market", stop_price=D(105))
    settle(xrp_krw)
    assert balance(buyer, "KRW") == (D(1000 - 557), D(557))
    # when the feed observes 105
    observe(xrp_krw, "104")
    match_pass()
    observe(xrp_krw, "105")
    outcome = match_pass()
    settle(xrp_krw)
    # then it bought all 5 from the house at 105 (525 + taker fee 1.05 -> 1) and the rest of the
    # hold came back
    assert outcome.triggered == 1
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity, stop.filled_quote, stop.fee_paid) == (
        "filled",
        D(5),
        D(525),
        D(1),
    )
    assert balance(buyer, "KRW") == (D(1000 - 526), D(0))
    assert balance(buyer, "XRP") == (D(5), D(0))


def test_a_stop_market_buy_the_feed_jumped_past_its_protection_is_cancelled_unfilled(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a stop-market buy of 5 XRP at stop 105 (protective price 111)
    buyer = make_user(KRW="1000")
    stop = place(buyer, "buy", "5", type="stop_market", stop_price=D(105))
    settle(xrp_krw)
    # when the feed jumps from 100 to 120
    observe(xrp_krw, "100")
    match_pass()
    observe(xrp_krw, "120")
    outcome = match_pass()
    settle(xrp_krw)
    # then it triggered but could not buy within its protection: cancelled, hold released
    assert outcome.triggered == 1
    stop.refresh_from_db()
    assert (stop.status, stop.cancel_reason, stop.filled_quantity) == (
        "cancelled",
        "insufficient_liquidity",
        D(0),
    )
    assert balance(buyer, "KRW") == (D(1000), D(0))


def test_a_take_profit_market_sell_triggers_when_the_feed_rises_to_it_and_sells_to_the_house(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a take-profit market sell of 3 XRP at stop 105
    seller = make_user(XRP="3")
    take = place(seller, "sell", "3", type="take_profit_market", stop_price=D(105))
    settle(xrp_krw)
    house_krw, house_xrp = house("KRW"), house("XRP")
    # when the feed observes 90 (the wrong way), 104, then 105
    for price in ("90", "104"):
        observe(xrp_krw, price)
        assert match_pass().triggered == 0
    observe(xrp_krw, "105")
    outcome = match_pass()
    settle(xrp_krw)
    # then it sold all 3 to the house at 105 (315 KRW; taker fee 0.63 rounds down to 0)
    assert outcome.triggered == 1
    take.refresh_from_db()
    assert (take.status, take.filled_quantity, take.filled_quote) == ("filled", D(3), D(315))
    assert balance(seller, "XRP") == (D(0), D(0))
    assert balance(seller, "KRW") == (D(315), D(0))
    assert (house("KRW"), house("XRP")) == (house_krw - 315, house_xrp + 3)


def test_a_take_profit_market_buy_triggers_when_the_feed_falls_to_it_and_buys_from_the_house(
    xrp_krw, make_user, settle, observe, match_pass
) -> None:
    # given a take-profit market buy of 5 XRP at stop 95: protective price ceil(95 x 1.05) = 100,
    # so it holds ceil(100 x 5 x 1.002) = 501
    buyer = make_user(KRW="1000")
    take = place(buyer, "buy", "5", type="take_profit_market", stop_price=D(95))
    settle(xrp_krw)
    assert balance(buyer, "KRW") == (D(1000 - 501), D(501))
    # when the feed observes 110 (the wrong way), 96, then 95
    for price in ("110", "96"):
        observe(xrp_krw, price)
        assert match_pass().triggered == 0
    observe(xrp_krw, "95")
    outcome = match_pass()
    settle(xrp_krw)
    # then it bought all 5 from the house at 95 (475; taker fee 0.95 rounds down to 0) and the
    # rest of its hold came back
    assert outcome.triggered == 1
    take.refresh_from_db()
    assert (take.status, take.filled_quantity, take.filled_quote) == ("filled", D(5), D(475))
    assert balance(buyer, "KRW") == (D(1000 - 475), D(0))
    assert balance(buyer, "XRP") == (D(5), D(0))


def test_a_stale_feed_blocks_market_orders(xrp_krw, make_user, settle, observe) -> None:
    # given a funded buyer and a feed that never observed XRP-KRW
    buyer = make_user(KRW="10000")
    # when / then a market order is refused with stale_price and nothing is held
    with pytest.raises(StalePrice) as refused:
        place(buyer, "buy", "10", type="market")
    assert (refused.value.code, refused.value.status) == ("stale_price", 503)
    # and an observation older than FEED_STALE_AFTER_S is stale too
    observe(xrp_krw, "100")
    time.sleep(0.06)
    with override_settings(FEED_STALE_AFTER_S=0.05), pytest.raises(StalePrice):
        place(buyer, "sell", "1", type="market")
    with override_settings(FEED_STALE_AFTER_S=0.05), pytest.raises(StalePrice):
        order_place(user=buyer, symbol="XRP-KRW", side="buy", type="market", quote_amount=D(500))
    assert balance(buyer, "KRW") == (D(10000), D(0))
    assert not Order.objects.exists()
    # while limit orders are still taken
    assert place(buyer, "buy", "1", "100").status == "pending"
    settle(xrp_krw)


def test_market_orders_fill_at_the_latest_observation_against_the_house(
    xrp_krw, make_user, settle, observe
) -> None:
    # given observations 101 then 100 (the latest)
    observe(xrp_krw, "101", "100")
    buyer = make_user(KRW="10000", XRP="5")
    # when the user buys 10 at market, sells 5 at market and buys for 550 KRW
    buy = place(buyer, "buy", "10", type="market")
    sell = place(buyer, "sell", "5", type="market")
    by_quote = order_place(
        user=buyer, symbol="XRP-KRW", side="buy", type="market", quote_amount=D(550)
    )
    settle(xrp_krw)
    # then each filled whole at 100 as the taker (fee 0.2%), the budget buys 5 whole lots
    for order in (buy, sell, by_quote):
        order.refresh_from_db()
    assert (buy.status, buy.filled_quantity, buy.filled_quote, buy.fee_paid) == (
        "filled",
        D(10),
        D(1000),
        D(2),
    )
    assert (sell.status, sell.filled_quantity, sell.filled_quote, sell.fee_paid) == (
        "filled",
        D(5),
        D(500),
        D(1),
    )
    assert (by_quote.status, by_quote.filled_quantity, by_quote.filled_quote) == (
        "filled",
        D(5),
        D(500),
    )
    assert balance(buyer, "XRP") == (D(15), D(0))
    assert balance(buyer, "KRW") == (D(10000 - 1002 + 499 - 501), D(0))
    assert (house("XRP"), house("KRW")) == (HOUSE_XRP - 10, HOUSE_KRW + 1000)
    assert set(Fill.objects.values_list("liquidity", flat=True)) == {"taker"}
