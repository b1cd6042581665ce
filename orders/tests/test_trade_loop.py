"""The whole trade loop against real PostgreSQL and Redis: place -> engine -> settlement.

Every number is worked out by hand from the market's terms: tick 1 KRW, lot 1 LPJ, maker fee
0.1%, taker fee 0.2%, fees in KRW rounded down; a buy holds ceil(price x qty x 1.002)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from markets.errors import MarketHalted
from markets.models import Trade
from markets.services import pair_set_status
from markets.ticker import ticker_get
from notifications.models import Notification
from orders.cancel import order_cancel
from orders.errors import DuplicateClientOrderId, OrderNotFound, OrderNotOpen, StopWouldTrigger
from orders.models import Fill, Order, OrderOutbox
from orders.payloads import fill_payload
from orders.services import order_place
from orders.tests.conftest import balance
from settlement.services import _orders_lock, settle_market
from wallets.errors import InsufficientFunds
from wallets.models import Account, Asset
from wallets.selectors import balance_get
from wallets.services import wallet_system_account

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def fee_income(symbol: str = "KRW") -> Decimal:
    row = balance_get(
        account=wallet_system_account(kind=Account.Kind.FEE), asset=Asset.objects.get(symbol=symbol)
    )
    return row.available


def place(user, side, quantity=None, price=None, type="limit", **kwargs):
    return order_place(
        user=user,
        symbol="LPJ-KRW",
        side=side,
        type=type,
        quantity=D(quantity) if quantity is not None else None,
        price=D(price) if price is not None else None,
        **kwargs,
    )


def test_two_users_cross_and_every_field_is_exact(lpj_krw, make_user, settle) -> None:
    # given a seller and a buyer
    seller = make_user(LPJ="50")
    buyer = make_user(KRW="100000")
    # when the seller rests 10 @ 1000 and the buyer takes it
    ask = place(seller, "sell", "10", "1000")
    settle(lpj_krw)
    assert balance(seller, "LPJ") == (D(40), D(10))
    bid = place(buyer, "buy", "10", "1000")
    assert balance(buyer, "KRW") == (D(89980), D(10020))  # 10000 x 1.002 held
    settle(lpj_krw)
    # then the money moved exactly once, fees to the fee account
    assert balance(buyer, "KRW") == (D(89980), D(0))  # paid 10000 + taker fee 20
    assert balance(buyer, "LPJ") == (D(10), D(0))
    assert balance(seller, "KRW") == (D(9990), D(0))  # got 10000 - maker fee 10
    assert balance(seller, "LPJ") == (D(40), D(0))
    assert fee_income() == D(30)
    ask.refresh_from_db()
    bid.refresh_from_db()
    assert (ask.status, ask.filled_quantity, ask.filled_quote, ask.fee_paid) == (
        "filled",
        D(10),
        D(10000),
        D(10),
    )
    assert (bid.status, bid.filled_quantity, bid.filled_quote, bid.fee_paid) == (
        "filled",
        D(10),
        D(10000),
        D(20),
    )
    assert bid.average_price == D(1000)
    assert bid.hold_remaining == 0
    assert ask.hold_remaining == 0
    assert not OrderOutbox.objects.exists()
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.taker_side) == (D(1000), D(10), "buy")
    fills = {f.liquidity: f for f in Fill.objects.all()}
    assert (fills["maker"].order_id, fills["maker"].fee) == (ask.pk, D(10))
    assert (fills["taker"].order_id, fills["taker"].fee) == (bid.pk, D(20))


def test_partial_fills_over_several_makers_release_the_excess_hold(
    lpj_krw, make_user, settle
) -> None:
    # given three makers at 1000, 1001 and 1002
    makers = [make_user(LPJ="5") for _ in range(3)]
    for maker, price in zip(makers, ("1000", "1001", "1002"), strict=True):
        place(maker, "sell", "5", price)
    buyer = make_user(KRW="100000")
    # when a buy of 12 up to 1002 sweeps them
    bid = place(buyer, "buy", "12", "1002")
    assert balance(buyer, "KRW")[1] == D(12049)  # ceil(12024 x 1.002)
    settle(lpj_krw)
    # then it paid 5000 + 5005 + 2004 plus fees 10 + 10 + 4, the rest of the hold released
    bid.refresh_from_db()
    assert (bid.status, bid.filled_quantity, bid.filled_quote, bid.fee_paid) == (
        "filled",
        D(12),
        D(12009),
        D(24),
    )
    assert balance(buyer, "KRW") == (D(100000 - 12033), D(0))
    assert balance(buyer, "LPJ") == (D(12), D(0))
    # the last maker is partly filled and still rests with 3
    last = Order.objects.get(user=makers[2])
    assert (last.status, last.filled_quantity, last.hold_remaining) == (
        "partially_filled",
        D(2),
        D(3),
    )
    assert balance(makers[2], "KRW") == (D(2002), D(0))  # 2004 - floor(2.004)
    assert balance(makers[2], "LPJ") == (D(0), D(3))
    assert list(Trade.objects.order_by("sequence").values_list("price", "quantity")) == [
        (D(1000), D(5)),
        (D(1001), D(5)),
        (D(1002), D(2)),
    ]


def test_market_buy_by_quote_amount_spends_up_to_it_and_leaves_dust(
    lpj_krw, make_user, settle
) -> None:
    # given asks 3 @ 1000 and 5 @ 1100
    place(make_user(LPJ="3"), "sell", "3", "1000")
    place(make_user(LPJ="5"), "sell", "5", "1100")
    buyer = make_user(KRW="10000")
    # when the buyer spends 5500 KRW at market
    order = order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="market", quote_amount=D(5500)
    )
    assert balance(buyer, "KRW") == (D(10000 - 5511), D(5511))  # 5500 + ceil(11)
    settle(lpj_krw)
    # then 3 @ 1000 + 2 @ 1100 = 5200 (another lot would cost 1100 > 300 left), fees 6 + 4
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.filled_quote, order.fee_paid) == (
        "filled",
        D(5),
        D(5200),
        D(10),
    )
    assert balance(buyer, "KRW") == (D(10000 - 5210), D(0))
    assert balance(buyer, "LPJ") == (D(5), D(0))


def test_market_buy_by_quantity_is_bounded_by_its_protective_price(
    lpj_krw, make_user, settle
) -> None:
    # given asks 2 @ 1000 and 2 @ 1200 (the second beyond 5% of the walk's reach)
    place(make_user(LPJ="2"), "sell", "2", "1000")
    place(make_user(LPJ="2"), "sell", "2", "1200")
    buyer = make_user(KRW="10000")
    # when buying 2 at market: the walk reaches 1000, protection allows up to 1050
    order = order_place(user=buyer, symbol="LPJ-KRW", side="buy", type="market", quantity=D(2))
    settle(lpj_krw)
    # then it fills 2 @ 1000 and releases the rest of its hold (2 x 1050 x 1.002)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.filled_quote) == ("filled", D(2), D(2000))
    assert balance(buyer, "KRW") == (D(10000 - 2004), D(0))


def test_market_sell_with_partial_liquidity_cancels_the_rest(lpj_krw, make_user, settle) -> None:
    place(make_user(KRW="5000"), "buy", "3", "1000")
    seller = make_user(LPJ="5")
    order = order_place(user=seller, symbol="LPJ-KRW", side="sell", type="market", quantity=D(5))
    settle(lpj_krw)
    order.refresh_from_db()
    assert (order.status, order.cancel_reason, order.filled_quantity) == (
        "cancelled",
        "insufficient_liquidity",
        D(3),
    )
    assert balance(seller, "LPJ") == (D(2), D(0))
    assert balance(seller, "KRW") == (D(2994), D(0))  # 3000 - taker fee 6


def test_ioc_fills_what_it_can_and_cancels_the_rest(lpj_krw, make_user, settle) -> None:
    place(make_user(LPJ="4"), "sell", "4", "1000")
    buyer = make_user(KRW="20000")
    order = place(buyer, "buy", "10", "1000", time_in_force="IOC")
    settle(lpj_krw)
    order.refresh_from_db()
    assert (order.status, order.cancel_reason, order.filled_quantity) == ("cancelled", "ioc", D(4))
    assert balance(buyer, "KRW") == (D(20000 - 4008), D(0))


def test_fok_that_cannot_fill_whole_changes_nothing(lpj_krw, make_user, settle) -> None:
    maker = place(make_user(LPJ="4"), "sell", "4", "1000")
    buyer = make_user(KRW="20000")
    order = place(buyer, "buy", "10", "1000", time_in_force="FOK")
    settle(lpj_krw)
    order.refresh_from_db()
    maker.refresh_from_db()
    assert (order.status, order.cancel_reason, order.filled_quantity) == ("cancelled", "fok", 0)
    assert maker.status == "open"
    assert balance(buyer, "KRW") == (D(20000), D(0))
    assert not Trade.objects.exists()


def test_post_only_that_would_take_is_rejected_and_released(lpj_krw, make_user, settle) -> None:
    place(make_user(LPJ="4"), "sell", "4", "1000")
    buyer = make_user(KRW="20000")
    order = place(buyer, "buy", "1", "1000", post_only=True)
    settle(lpj_krw)
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("rejected", "would_take")
    assert balance(buyer, "KRW") == (D(20000), D(0))
    resting = place(buyer, "buy", "2", "999", post_only=True)
    settle(lpj_krw)
    resting.refresh_from_db()
    assert resting.status == "open"


def test_self_trade_prevention_expires_the_taker_by_default(lpj_krw, make_user, settle) -> None:
    trader = make_user(LPJ="5", KRW="10000")
    ask = place(trader, "sell", "5", "1000")
    bid = place(trader, "buy", "5", "1000")
    settle(lpj_krw)
    ask.refresh_from_db()
    bid.refresh_from_db()
    assert ask.status == "open"
    assert (bid.status, bid.cancel_reason) == ("cancelled", "self_trade")
    assert balance(trader, "KRW") == (D(10000), D(0))
    assert not Trade.objects.exists()


def test_self_trade_prevention_expire_both(lpj_krw, make_user, settle) -> None:
    trader = make_user(LPJ="5", KRW="10000")
    ask = place(trader, "sell", "5", "1000")
    bid = place(trader, "buy", "5", "1000", stp_mode="expire_both")
    settle(lpj_krw)
    ask.refresh_from_db()
    bid.refresh_from_db()
    assert (ask.status, ask.cancel_reason) == ("cancelled", "self_trade")
    assert (bid.status, bid.cancel_reason) == ("cancelled", "self_trade")
    assert balance(trader, "LPJ") == (D(5), D(0))


def test_cancel_after_partial_fill_releases_exactly_the_rest(lpj_krw, make_user, settle) -> None:
    seller = make_user(LPJ="10")
    ask = place(seller, "sell", "10", "1000")
    place(make_user(KRW="5000"), "buy", "4", "1000")
    settle(lpj_krw)
    # when the seller cancels (settlement runs as the service waits for it)
    ask.refresh_from_db()
    assert ask.status == "partially_filled"
    order_cancel(user=seller, order_id=ask.pk, wait_s=0)
    settle(lpj_krw)
    ask.refresh_from_db()
    assert (ask.status, ask.cancel_reason, ask.filled_quantity) == ("cancelled", "user", D(4))
    assert balance(seller, "LPJ") == (D(6), D(0))
    # and a second cancel is a conflict, not a second release
    with pytest.raises(OrderNotOpen):
        order_cancel(user=seller, order_id=ask.pk, wait_s=0)


def test_another_users_order_is_not_found(lpj_krw, make_user, settle) -> None:
    owner = make_user(LPJ="1")
    order = place(owner, "sell", "1", "1000")
    with pytest.raises(OrderNotFound):
        order_cancel(user=make_user(), order_id=order.pk, wait_s=0)


def test_halted_market_refuses_new_orders_and_moves_no_money(lpj_krw, make_user) -> None:
    buyer = make_user(KRW="5000")
    pair_set_status(pair=lpj_krw, status="halted", actor=None)
    with pytest.raises(MarketHalted):
        place(buyer, "buy", "1", "1000")
    assert balance(buyer, "KRW") == (D(5000), D(0))
    assert not Order.objects.exists()


def test_insufficient_funds_moves_nothing(lpj_krw, make_user) -> None:
    buyer = make_user(KRW="1000")
    with pytest.raises(InsufficientFunds):
        place(buyer, "buy", "1", "1000")  # needs 1002 with the fee
    assert balance(buyer, "KRW") == (D(1000), D(0))
    assert not Order.objects.exists()


def test_client_order_id_makes_retries_safe(lpj_krw, make_user, settle) -> None:
    seller = make_user(LPJ="5")
    first = place(seller, "sell", "5", "1000", client_order_id="abc-1")
    again = place(seller, "sell", "5", "1000", client_order_id="abc-1")
    assert again.pk == first.pk
    assert balance(seller, "LPJ") == (D(0), D(5))  # held once
    with pytest.raises(DuplicateClientOrderId):
        place(seller, "sell", "4", "1000", client_order_id="abc-1")
    settle(lpj_krw)


def test_stop_limit_triggers_on_the_last_trade_and_then_fills(lpj_krw, make_user, settle) -> None:
    # given a trade at 1000, a stop buy at 1010 (limit 1020) and liquidity at 1015
    place(make_user(LPJ="1"), "sell", "1", "1000")
    place(make_user(KRW="2000"), "buy", "1", "1000")
    settle(lpj_krw)
    stopper = make_user(KRW="5000")
    stop = place(stopper, "buy", "2", "1020", type="stop_limit", stop_price=D(1010))
    settle(lpj_krw)
    stop.refresh_from_db()
    assert stop.status == "untriggered"
    place(make_user(LPJ="3"), "sell", "3", "1015")
    # when a trade prints at 1010
    place(make_user(LPJ="1"), "sell", "1", "1010")
    place(make_user(KRW="2000"), "buy", "1", "1010")
    settle(lpj_krw)  # settles the 1010 trade, triggers the stop
    settle(lpj_krw)  # settles the stop's fills
    # then the stop bought 2 @ 1015
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity, stop.filled_quote) == ("filled", D(2), D(2030))
    assert balance(stopper, "KRW") == (D(5000 - 2030 - 4), D(0))


def test_a_stop_already_crossed_is_refused(lpj_krw, make_user, settle) -> None:
    place(make_user(LPJ="1"), "sell", "1", "1000")
    place(make_user(KRW="2000"), "buy", "1", "1000")
    settle(lpj_krw)
    with pytest.raises(StopWouldTrigger):
        place(make_user(KRW="5000"), "buy", "1", "1000", type="stop_limit", stop_price=D(990))


def trade_at(price: str, make_user, settle, pair) -> None:
    """A trade of 2 LPJ at ``price`` between two new users, settled (its last price triggers)."""
    place(make_user(LPJ="2"), "sell", "2", price)
    place(make_user(KRW="5000"), "buy", "2", price)
    settle(pair)  # settles the trade and triggers what its price reaches
    settle(pair)  # settles what the triggered orders did


def test_a_take_profit_sell_waits_for_a_rise_then_sells_into_the_book(
    lpj_krw, make_user, settle
) -> None:
    # given a trade at 1000 and a take-profit sell of 2 LPJ at stop 1100 (limit 1050)
    trade_at("1000", make_user, settle, lpj_krw)
    holder = make_user(LPJ="5")
    take = place(holder, "sell", "2", "1050", type="take_profit_limit", stop_price=D(1100))
    settle(lpj_krw)
    take.refresh_from_db()
    assert (take.status, take.held) == ("untriggered", D(2))
    assert balance(holder, "LPJ") == (D(3), D(2))

    # when the price falls to 950 (the wrong way), a bid of 2 at 1060 comes, and the price rises
    # to 1100
    trade_at("950", make_user, settle, lpj_krw)
    take.refresh_from_db()
    assert take.status == "untriggered"
    place(make_user(KRW="5000"), "buy", "2", "1060")
    trade_at("1100", make_user, settle, lpj_krw)

    # then it sold 2 @ 1060 as a taker: 2120 less the 0.2% fee (4)
    take.refresh_from_db()
    assert (take.status, take.filled_quantity, take.filled_quote, take.fee_paid) == (
        "filled",
        D(2),
        D(2120),
        D(4),
    )
    assert balance(holder, "LPJ") == (D(3), D(0))
    assert balance(holder, "KRW") == (D(2116), D(0))
    triggered = Notification.objects.filter(user=holder, kind="stop_triggered")
    assert [n.title for n in triggered] == ["Take-profit sell LPJ-KRW triggered at 1,100"]


def test_a_take_profit_market_buy_waits_for_a_fall_then_buys_within_its_protection(
    lpj_krw, make_user, settle
) -> None:
    # given a trade at 1000 and a take-profit market buy of 2 LPJ at stop 950: it holds its
    # protective price ceil(950 x 1.05) = 998 per LPJ, ceil(1996 x 1.002) = 2000
    trade_at("1000", make_user, settle, lpj_krw)
    buyer = make_user(KRW="5000")
    take = place(buyer, "buy", "2", type="take_profit_market", stop_price=D(950))
    assert balance(buyer, "KRW") == (D(3000), D(2000))
    settle(lpj_krw)

    # when the price rises to 1010 (the wrong way), an ask of 2 at 960 comes, and the price
    # falls to 950
    trade_at("1010", make_user, settle, lpj_krw)
    take.refresh_from_db()
    assert take.status == "untriggered"
    place(make_user(LPJ="2"), "sell", "2", "960")
    trade_at("950", make_user, settle, lpj_krw)

    # then it bought 2 @ 960 (1920 + 3 fee) and the rest of its hold came back
    take.refresh_from_db()
    assert (take.status, take.filled_quantity, take.filled_quote, take.fee_paid) == (
        "filled",
        D(2),
        D(1920),
        D(3),
    )
    assert balance(buyer, "KRW") == (D(5000 - 1923), D(0))
    assert balance(buyer, "LPJ") == (D(2), D(0))


def test_take_profits_already_reached_are_refused_and_others_cancel_with_their_hold(
    lpj_krw, make_user, settle
) -> None:
    # given a trade at 1000
    trade_at("1000", make_user, settle, lpj_krw)
    user = make_user(KRW="5000", LPJ="5")

    # when take-profits whose stop the last price has reached are placed
    for side, stop in (("sell", "1000"), ("sell", "990"), ("buy", "1000"), ("buy", "1010")):
        with pytest.raises(StopWouldTrigger):
            place(user, side, "1", "1000", type="take_profit_limit", stop_price=D(stop))

    # then nothing is held; one on the right side is taken, and its cancel releases its hold
    assert balance(user, "KRW") == (D(5000), D(0))
    waiting = place(user, "buy", "2", "990", type="take_profit_limit", stop_price=D(990))
    settle(lpj_krw)
    assert balance(user, "KRW") == (D(5000 - 1984), D(1984))  # ceil(1980 x 1.002)
    order_cancel(user=user, order_id=waiting.pk)
    settle(lpj_krw)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.cancel_reason) == ("cancelled", "user")
    assert balance(user, "KRW") == (D(5000), D(0))


def test_a_rebuilt_market_keeps_its_take_profits_waiting_in_their_direction(
    lpj_krw, make_user, settle, engine_redis
) -> None:
    # given a trade at 1000, a take-profit sell (stop 1100) and buy (stop 900), and a Redis
    # that loses the engine's state
    from engine.runtime import get_engine
    from settlement.recovery import engine_recover
    from settlement.services import settlement_group_ensure

    trade_at("1000", make_user, settle, lpj_krw)
    user = make_user(KRW="5000", LPJ="5")
    sell = place(user, "sell", "2", "1100", type="take_profit_limit", stop_price=D(1100))
    buy = place(user, "buy", "2", type="take_profit_market", stop_price=D(900))
    settle(lpj_krw)
    engine_redis.flushdb()
    settlement_group_ensure(engine_redis, lpj_krw.symbol)

    # when the market is rebuilt from PostgreSQL
    engine_recover(pair=lpj_krw)

    # then both wait again, and a rise to 1100 triggers the sell only: it rests at its limit
    waiting = get_engine().snapshot("LPJ-KRW").stops
    assert [r.order.order_id for r in waiting] == [str(sell.pk), str(buy.pk)]
    trade_at("1100", make_user, settle, lpj_krw)
    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (sell.status, buy.status) == ("open", "untriggered")
    assert get_engine().depth("LPJ-KRW").asks == [(1100, 2)]


def test_engine_rebuild_missing_rebuilds_only_lost_books_and_says_nothing_at_v0(
    lpj_krw, make_user, settle, engine_redis, caplog
) -> None:
    # given a resting ask, then a Redis that loses the engine's state (make run's fresh Redis)
    import io
    import logging

    from django.core.management import call_command

    from engine.runtime import get_engine

    seller = make_user(LPJ="5")
    place(seller, "sell", "2", "1100")
    settle(lpj_krw)
    engine_redis.flushdb()

    # when make run rebuilds the missing books at start, quietly
    out = io.StringIO()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="settlement.recovery"):
        call_command("engine_rebuild", "--missing", "-v", "0", stdout=out)
    epoch = get_engine().depth("LPJ-KRW")
    # then the book is back, nothing was printed, and restoring a resting order is a warning
    assert epoch.asks == [(1100, 2)]
    assert out.getvalue() == ""
    assert [r.levelname for r in caplog.records] == ["WARNING"]

    # and when run again, the book that has state is left alone (no rebuild, no log line)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="settlement.recovery"):
        call_command("engine_rebuild", "--missing", stdout=out)
    assert caplog.records == []
    assert get_engine().depth("LPJ-KRW").asks == [(1100, 2)]


def test_rebuilding_an_empty_book_is_routine_not_a_warning(lpj_krw, engine_redis, caplog) -> None:
    # given a market with no open orders and no engine state
    import logging

    from settlement.recovery import engine_recover

    engine_redis.flushdb()
    # when its book is rebuilt
    with caplog.at_level(logging.INFO, logger="settlement.recovery"):
        engine_recover(pair=lpj_krw)
    # then it is logged at INFO
    assert [(r.levelname, r.getMessage()[:40]) for r in caplog.records] == [
        ("INFO", "engine state of LPJ-KRW rebuilt from 0 o")
    ]


def test_a_settled_batch_reports_its_fill_rows_as_stored(lpj_krw, make_user) -> None:
    # given a cross waiting in the stream
    place(make_user(LPJ="5"), "sell", "5", "1000")
    place(make_user(KRW="10000"), "buy", "5", "1000")
    # when one batch settles it
    outcome = settle_market(pair=lpj_krw, consumer="test")
    # then the batch's fill rows (what the push renders) carry their ids and render exactly as
    # the stored rows do
    assert outcome.batch is not None
    stored = {
        f.pk: f for f in Fill.objects.select_related("pair__base", "pair__quote", "fee_asset")
    }
    settled_ids = [f.pk for f in outcome.batch.fills]
    assert None not in settled_ids
    assert sorted(settled_ids) == sorted(stored)  # type: ignore[type-var] # None excluded above
    for fill in outcome.batch.fills:
        assert fill.pk is not None
        assert fill_payload(fill) == fill_payload(stored[fill.pk])


def test_settlement_loads_orders_exactly_as_the_orm_does(lpj_krw, make_user) -> None:
    # given two orders of the market
    ask = place(make_user(LPJ="5"), "sell", "5", "1000")
    bid = place(make_user(KRW="10000"), "buy", "2", "990")
    # when settlement locks them (one array query, rows through from_db)
    with transaction.atomic():
        locked, account_ids, fee_account_id = _orders_lock(lpj_krw, {ask.pk, bid.pk})
    # then the same statement read the owners' wallet accounts and the fee account
    assert account_ids == {o.user_id: Account.objects.get(user_id=o.user_id).pk for o in (ask, bid)}
    assert fee_account_id == Account.objects.filter(kind="fee").values_list("pk", flat=True).first()
    # and every field is what the ORM reads, times included (aware, same instant)
    for order in (ask, bid):
        stored = Order.objects.get(pk=order.pk)
        assert [getattr(locked[order.pk], f.attname) for f in Order._meta.concrete_fields] == [
            getattr(stored, f.attname) for f in Order._meta.concrete_fields
        ]
        assert locked[order.pk].created_at.utcoffset() is not None
        assert locked[order.pk].pair is lpj_krw


def test_tickers_show_the_books_best_bid_and_ask(lpj_krw, make_user) -> None:
    # given resting orders on both sides
    seller, buyer = make_user(LPJ="50"), make_user(KRW="100000")
    order_place(
        user=seller, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(2), price=D(1010)
    )
    order_place(user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(3), price=D(990))

    # when
    ticker = ticker_get(pair=lpj_krw)

    # then
    assert (ticker["best_bid"], ticker["best_ask"]) == ("990", "1010")


def test_settlement_counts_the_events_and_fills_it_applies(lpj_krw, make_user, settle) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"market": "LPJ-KRW"}) or 0.0

    # given the counts before
    events, fills = (
        sample("tradehive_settlement_events_total"),
        sample("tradehive_settlement_fills_total"),
    )
    hops = hop_count("engine_to_settled")
    # when a resting ask is taken in two fills
    place(make_user(LPJ="10"), "sell", "5", "1000")
    place(make_user(LPJ="10"), "sell", "5", "1000")
    place(make_user(KRW="100000"), "buy", "10", "1000")
    applied = settle(lpj_krw)
    # then every applied event and both fills are counted
    assert sample("tradehive_settlement_events_total") == events + applied
    assert sample("tradehive_settlement_fills_total") == fills + 2
    # and each side of each fill timed its first hop, the engine's match to the commit
    assert hop_count("engine_to_settled") == hops + 4


def hop_count(hop: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("tradehive_fill_hop_seconds_count", {"hop": hop}) or 0.0


def test_a_fill_is_pushed_before_the_ticker_is_recomputed_which_then_marks_it(
    lpj_krw, make_user, settle
) -> None:
    from markets.ticker import ticker_key
    from settlement.publish import settled_publish_many
    from settlement.services import settlement_publisher_set
    from tradehive.push import DIRTY_TICKER
    from tradehive.redis_client import get_redis

    # given a resting ask, no cached ticker and no market marked for the coalescer
    redis = get_redis()
    place(make_user(LPJ="10"), "sell", "5", "1000")
    settle(lpj_krw)
    redis.delete(ticker_key("LPJ-KRW"), DIRTY_TICKER)
    seen: list[tuple[bytes | None, bool]] = []

    def publisher(batch):  # what the push sees, then the push and the batch's follow-ups
        seen.append((redis.get(ticker_key("LPJ-KRW")), redis.sismember(DIRTY_TICKER, "LPJ-KRW")))
        settled_publish_many(batches=[batch])

    settlement_publisher_set(publisher)
    try:
        # when a buyer takes it
        place(make_user(KRW="100000"), "buy", "5", "1000")
        settle(lpj_krw)
    finally:
        settlement_publisher_set(None)
    # then the batch was handed to the push before the ticker was recomputed or marked
    assert seen == [(None, False)]
    # and the recompute cached the trade's price and marked the ticker for the coalescer
    assert ticker_get(pair=lpj_krw)["last"] == "1000"
    assert redis.sismember(DIRTY_TICKER, "LPJ-KRW")
