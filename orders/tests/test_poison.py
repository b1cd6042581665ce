"""Poison orders: an order the engine can never take never stalls the relay, cancels or money.

Such orders come from before placement checked the engine's range (or from a market whose tick
changed under a pending order). They are written here as placement wrote them then: the hold,
the order and its outbox row in one statement, without the range check."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from engine.keys import market_keys
from engine.units import MAX_ENGINE_INT
from markets.models import TradingPair
from orders.models import Order, OrderOutbox, OrderStatus
from orders.relay import SUBMIT_REFUSALS_MAX, order_submit, outbox_relay
from orders.services import _order_write, order_place
from orders.terms import OrderTerms
from orders.tests.conftest import balance
from tradehive.redis_client import get_redis
from wallets.models import Asset, JournalTransaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal
BEYOND = D(MAX_ENGINE_INT + 2)  # 2**53 + 1 ticks on LPJ-KRW (tick 1)


def write_unchecked(
    user,
    pair: TradingPair,
    *,
    side: str,
    price: Decimal,
    quantity: Decimal,
    type_: str = "limit",
    stop_price: Decimal | None = None,
) -> Order:
    """An order with its hold and outbox row, as placement wrote it before the range check; it
    is left unsubmitted (a crash right after the commit, or a submission that failed)."""
    hold_asset = pair.base if side == "sell" else pair.quote
    quote_unit = D(1).scaleb(-pair.quote.decimals)
    hold = (
        quantity
        if side == "sell"
        else (price * quantity * D("1.002")).quantize(quote_unit, rounding=ROUND_CEILING)
    )
    terms = OrderTerms(
        side=side,
        type=type_,
        time_in_force="GTC",
        post_only=False,
        price=price,
        stop_price=stop_price,
        quantity=quantity,
        quote_amount=None,
        stp_mode="expire_taker",
        hold_asset=hold_asset,
        hold_amount=hold,
        engine_price=None,
    )
    order = _order_write(user=user, pair=pair, terms=terms, client_order_id=None)
    assert order is not None
    return order


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_poisoned_outbox_row_is_quarantined_and_the_healthy_ones_flow_on(
    lpj_krw, make_user, settle
) -> None:
    # given a poisoned row (a sell at 2**53+1 ticks) first in the outbox, then a crossing
    # buy and sell whose submission was lost in a crash
    victim = make_user(LPJ="10")
    poisoned = write_unchecked(victim, lpj_krw, side="sell", price=BEYOND, quantity=D(3))
    seller, buyer = make_user(LPJ="5"), make_user(KRW="10000")
    sell = write_unchecked(seller, lpj_krw, side="sell", price=D(1000), quantity=D(2))
    buy = write_unchecked(buyer, lpj_krw, side="buy", price=D(1000), quantity=D(2))
    assert balance(victim, "LPJ") == (D(7), D(3))
    # when the relay runs, and settlement after it
    relayed = outbox_relay(older_than_s=0)
    settle(lpj_krw)
    # then the healthy orders were submitted and filled each other
    assert relayed == 3
    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (sell.status, buy.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert balance(buyer, "LPJ") == (D(2), D(0))
    # and the poisoned one is rejected with a reason, its hold released through the ledger
    poisoned.refresh_from_db()
    assert poisoned.status == OrderStatus.REJECTED
    assert poisoned.cancel_reason == "out_of_range"
    assert poisoned.hold_remaining == 0
    assert balance(victim, "LPJ") == (D(10), D(0))
    assert (
        JournalTransaction.objects.filter(
            kind=JournalTransaction.Kind.RELEASE, reference=f"order:{poisoned.pk}"
        ).count()
        == 1
    )
    # and its outbox row stays as the quarantine's durable record, which the relay skips
    row = OrderOutbox.objects.get(order=poisoned)
    assert row.quarantined_at is not None
    assert "too large for the engine" in row.quarantine_reason
    assert list(OrderOutbox.objects.values_list("order_id", flat=True)) == [poisoned.pk]
    assert outbox_relay(older_than_s=0) == 0
    # and the audit log says what happened
    event = AuditEvent.objects.get(event="order.quarantined")
    assert event.details["order_id"] == poisoned.pk
    assert event.details["reason"] == "out_of_range"


def test_quarantine_logs_a_warning_with_the_order_and_the_reason(
    lpj_krw, make_user, caplog
) -> None:
    # given a poisoned stop (its stop price is 2**53+1 ticks)
    user = make_user(LPJ="1")
    poisoned = write_unchecked(
        user,
        lpj_krw,
        side="sell",
        price=D(1000),
        quantity=D(1),
        type_="stop_limit",
        stop_price=BEYOND,
    )
    # when the relay meets it
    with caplog.at_level("WARNING", logger="orders.quarantine"):
        outbox_relay(older_than_s=0)
    # then a warning names the order and the reason
    assert any(
        f"order {poisoned.pk} quarantined (out_of_range)" in r.getMessage() for r in caplog.records
    )
    poisoned.refresh_from_db()
    assert poisoned.status == OrderStatus.REJECTED


def test_a_pending_order_off_a_changed_tick_is_quarantined_as_invalid_precision(
    lpj_krw, make_user
) -> None:
    # given a pending buy at 1001 KRW, then the market's tick becomes 10 KRW
    from markets.services import pair_update

    user = make_user(KRW="5000")
    order = write_unchecked(user, lpj_krw, side="buy", price=D(1001), quantity=D(2))
    pair_update(pair=lpj_krw, actor=None, tick_size=D(10))
    # when the relay submits it
    outbox_relay(older_than_s=0)
    # then it is rejected and the quote it held is back
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.REJECTED, "invalid_precision")
    assert balance(user, "KRW") == (D(5000), D(0))


def test_cancelling_a_stuck_order_answers_200_and_releases_its_hold(lpj_krw, make_user) -> None:
    # given a stuck sell (never submitted, not representable)
    user = make_user(LPJ="4")
    stuck = write_unchecked(user, lpj_krw, side="sell", price=BEYOND, quantity=D(4))
    # when its owner cancels it
    response = client_for(user).delete(f"/api/v1/orders/{stuck.pk}")
    # then the answer is the closed order, and the funds are free
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    assert response.json()["cancel_reason"] == "out_of_range"
    assert balance(user, "LPJ") == (D(4), D(0))
    # and a second cancel is the usual 409 for a closed order, not a 400
    again = client_for(user).delete(f"/api/v1/orders/{stuck.pk}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_open"


def test_cancel_all_with_a_stuck_order_cancels_everything(lpj_krw, make_user, settle) -> None:
    # given a stuck sell and a healthy resting buy of the same user
    user = make_user(LPJ="4", KRW="10000")
    stuck = write_unchecked(user, lpj_krw, side="sell", price=BEYOND, quantity=D(4))
    resting = order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    settle(lpj_krw)
    # when the user cancels all their orders
    response = client_for(user).delete("/api/v1/orders")
    settle(lpj_krw)
    # then 200, the stuck one rejected, the resting one cancelled, and nothing stays locked
    assert response.status_code == 200, response.json()
    stuck.refresh_from_db()
    resting.refresh_from_db()
    assert stuck.status == OrderStatus.REJECTED
    assert (resting.status, resting.cancel_reason) == (OrderStatus.CANCELLED, "user")
    assert balance(user, "LPJ") == (D(4), D(0))
    assert balance(user, "KRW") == (D(10000), D(0))


def test_an_order_the_engine_keeps_refusing_is_quarantined_after_the_limit(
    lpj_krw, make_user, settle
) -> None:
    # given a market whose engine state exists, then one of its keys has the wrong type, so its
    # scripts fail for every submission (a Redis-side refusal, not a connection error)
    order_place(
        user=make_user(LPJ="1"),
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=D(1),
        price=D(5000),
    )
    settle(lpj_krw)
    user = make_user(KRW="5000")
    order = write_unchecked(user, lpj_krw, side="buy", price=D(1000), quantity=D(2))
    seen_key = next(key for key in market_keys("LPJ-KRW") if key.startswith("seen:"))
    redis = get_redis()
    redis.delete(seen_key)
    redis.set(seen_key, "not a sorted set")
    # when the relay tries it again and again
    answers = [order_submit(order_id=order.pk) for _ in range(SUBMIT_REFUSALS_MAX)]
    # then it is retried up to the limit, then quarantined with its hold released
    assert answers == [False] * (SUBMIT_REFUSALS_MAX - 1) + [True]
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.REJECTED, "engine_refused")
    assert balance(user, "KRW") == (D(5000), D(0))
    assert "WRONGTYPE" in OrderOutbox.objects.get(order=order).quarantine_reason


def test_a_quarantine_of_an_order_no_longer_pending_changes_nothing(
    lpj_krw, make_user, settle
) -> None:
    # given an order the engine accepted and settlement opened
    from orders.quarantine import order_quarantine

    user = make_user(KRW="5000")
    order = order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    settle(lpj_krw)
    # when something tries to quarantine it
    done = order_quarantine(order_id=order.pk, reason="out_of_range", detail="test")
    # then nothing changes: it is open and still holds its funds
    assert done is False
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    assert balance(user, "KRW") == (D(5000) - order.held, order.held)


def test_the_repair_migration_quarantines_stuck_orders_and_leaves_the_rest(
    lpj_krw, make_user
) -> None:
    # given a stuck sell, a stuck stop and a healthy pending buy, none of them submitted
    import importlib

    from django.apps import apps

    migration = importlib.import_module("orders.migrations.0005_quarantine_stuck_orders")
    user = make_user(LPJ="5", KRW="5000")
    stuck = write_unchecked(user, lpj_krw, side="sell", price=BEYOND, quantity=D(3))
    stuck_stop = write_unchecked(
        user,
        lpj_krw,
        side="sell",
        price=D(1000),
        quantity=D(2),
        type_="stop_limit",
        stop_price=BEYOND,
    )
    healthy = write_unchecked(user, lpj_krw, side="buy", price=D(1000), quantity=D(2))
    # when the migration's step runs (twice: it is idempotent)
    migration.quarantine_stuck_orders(apps, None)
    migration.quarantine_stuck_orders(apps, None)
    # then the stuck ones are rejected with their holds released once, the healthy one waits
    for order in (stuck, stuck_stop, healthy):
        order.refresh_from_db()
    assert (stuck.status, stuck_stop.status) == (OrderStatus.REJECTED, OrderStatus.REJECTED)
    assert healthy.status == OrderStatus.PENDING
    assert balance(user, "LPJ") == (D(5), D(0))
    assert balance(user, "KRW") == (D(5000) - healthy.held, healthy.held)
    assert JournalTransaction.objects.filter(kind=JournalTransaction.Kind.RELEASE).count() == 2
    # and the relay then submits the healthy one
    assert outbox_relay(older_than_s=0) == 1


def test_the_repair_command_reports_what_it_did(lpj_krw, make_user) -> None:
    # given one stuck order
    from io import StringIO

    from django.core.management import call_command

    user = make_user(LPJ="1")
    stuck = write_unchecked(user, lpj_krw, side="sell", price=BEYOND, quantity=D(1))
    out = StringIO()
    # when
    call_command("orders_quarantine_stuck", stdout=out)
    # then
    assert f"order {stuck.pk}: rejected, hold released" in out.getvalue()
    assert "1 order(s) quarantined" in out.getvalue()
    assert balance(user, "LPJ") == (D(1), D(0))


def test_a_market_whose_events_cannot_be_settled_stops_alone(lpj_krw, make_user) -> None:
    # given LPJ-KRW's stream starts with an order PostgreSQL does not know (its batch can never
    # be applied), and a cross in XRP-KRW waits to be settled
    from engine.engine import EngineOrder, Side
    from engine.engine import OrderType as EngineType
    from engine.runtime import get_engine
    from markets.services import pair_create
    from settlement.consumer import _settle_loop
    from settlement.models import MarketCursor
    from settlement.recovery import engine_recover
    from settlement.services import settlement_group_ensure

    engine_recover(pair=lpj_krw)
    get_engine().submit(
        "LPJ-KRW",
        EngineOrder(
            order_id="999999999",
            owner=1,
            side=Side.SELL,
            order_type=EngineType.LIMIT,
            quantity=1,
            price=1000,
        ),
    )
    xrp = pair_create(
        base=Asset.objects.get(symbol="XRP"),
        quote=lpj_krw.quote,
        tick_size=D(1),
        lot_size=D(1),
        min_notional=D(1),
        actor=None,
    )
    settlement_group_ensure(get_redis(), xrp.symbol)
    seller, buyer = make_user(XRP="3"), make_user(KRW="1000")
    sell = order_place(
        user=seller, symbol="XRP-KRW", side="sell", type="limit", quantity=D(3), price=D(100)
    )
    buy = order_place(
        user=buyer, symbol="XRP-KRW", side="buy", type="limit", quantity=D(3), price=D(100)
    )
    # when the settlement loop runs for a while
    _settle_loop(get_redis(), "test", 100, 0.01, stop_after_s=1.5)
    # then XRP-KRW settled
    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (sell.status, buy.status) == (OrderStatus.FILLED, OrderStatus.FILLED)
    assert balance(buyer, "XRP") == (D(3), D(0))
    # and LPJ-KRW's failure is counted on its cursor, with the error, and nothing of it applied
    cursor = MarketCursor.objects.get(pair=lpj_krw)
    assert cursor.failures >= 1
    assert cursor.failing_since is not None
    assert "unknown orders" in cursor.last_error
    assert cursor.last_seq == 0


def test_a_market_that_settles_again_is_no_longer_marked_failing(
    lpj_krw, make_user, settle
) -> None:
    # given a market with a recorded failure
    from settlement.models import MarketCursor
    from settlement.services import settle_failure_record

    settle_failure_record(pair=lpj_krw, error=ValueError("a passing fault"))
    # when one of its batches applies
    order_place(
        user=make_user(KRW="5000"),
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=D(2),
        price=D(1000),
    )
    settle(lpj_krw)
    # then it is no longer failing, and the count stays
    cursor = MarketCursor.objects.get(pair=lpj_krw)
    assert (cursor.failures, cursor.failing_since, cursor.last_error) == (1, None, "")


def test_a_rebuild_closes_resting_orders_off_a_changed_tick_and_keeps_the_rest(
    lpj_krw, make_user, settle, engine_redis
) -> None:
    # given two resting buys, then the tick becomes 10 KRW (1000 is on it, 1001 is not) and
    # Redis loses the engine's state
    from engine.runtime import get_engine
    from markets.services import pair_update
    from settlement.recovery import engine_recover

    user = make_user(KRW="10000")
    on_grid = order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    off_grid = order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1001)
    )
    settle(lpj_krw)
    lpj_krw = pair_update(pair=lpj_krw, actor=None, tick_size=D(10))
    engine_redis.flushdb()
    # when the market is rebuilt from PostgreSQL
    engine_recover(pair=lpj_krw)
    # then the order on the grid rests again; the other is cancelled with its hold released
    book = get_engine().snapshot("LPJ-KRW")
    assert [r.order.order_id for r in book.bids] == [str(on_grid.pk)]
    off_grid.refresh_from_db()
    assert (off_grid.status, off_grid.cancel_reason) == (OrderStatus.CANCELLED, "invalid_precision")
    assert balance(user, "KRW") == (D(10000) - on_grid.held, on_grid.held)
    assert OrderOutbox.objects.get(order=off_grid).quarantined_at is not None
