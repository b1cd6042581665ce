"""Trigger orders (stops and take-profits) and trigger(); rebuild from open orders giving the
same book."""

from __future__ import annotations

import pytest
import redis as redis_lib

from engine.engine import (
    Engine,
    EngineOrder,
    EngineStateMissing,
    InvalidEngineOrder,
    OrderType,
    RestingOrder,
    Side,
    TimeInForce,
)
from engine.events import Accepted, Done, Event, Triggered
from engine.tests.conftest import SYMBOL
from engine.tests.factories import fills, kinds, limit


def stop(
    order_id: str,
    side: str,
    stop_price: int,
    *,
    price: int | None = None,
    quantity: int | None = 1,
    quote: int | None = None,
    owner: int = 5,
) -> EngineOrder:
    kind = OrderType.STOP_LIMIT if price is not None else OrderType.STOP_MARKET
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=Side(side),
        order_type=kind,
        price=price,
        quantity=quantity,
        quote_amount=quote,
        stop_price=stop_price,
    )


def take_profit(
    order_id: str,
    side: str,
    stop_price: int,
    *,
    price: int | None = None,
    quantity: int | None = 1,
    quote: int | None = None,
    owner: int = 5,
    tif: str = "GTC",
) -> EngineOrder:
    kind = OrderType.TAKE_PROFIT_LIMIT if price is not None else OrderType.TAKE_PROFIT_MARKET
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=Side(side),
        order_type=kind,
        price=price,
        quantity=quantity,
        quote_amount=quote,
        stop_price=stop_price,
        time_in_force=TimeInForce(tif),
    )


def triggered_ids(events: list[Event]) -> list[str]:
    return [e.order_id for e in events if isinstance(e, Triggered)]


def test_stop_orders_wait_outside_the_book(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, limit("a1", "sell", 101, 5, owner=1))

    # when
    events = engine.submit(SYMBOL, stop("s1", "buy", 105, price=101, quantity=2))

    # then
    assert kinds(events) == ["accepted"]
    assert isinstance(events[0], Accepted)
    assert not events[0].resting
    snapshot = engine.snapshot(SYMBOL)
    assert [o.order.order_id for o in snapshot.stops] == ["s1"]
    assert snapshot.stops[0].untriggered
    assert engine.depth(SYMBOL).bids == []


def test_trigger_activates_only_crossed_stops_in_stop_then_sequence_order(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, limit("a1", "sell", 110, 10, owner=1))
    engine.submit(SYMBOL, limit("b1", "buy", 90, 10, owner=1))
    engine.submit(SYMBOL, stop("buy105", "buy", 105, quantity=1))
    engine.submit(SYMBOL, stop("buy100a", "buy", 100, quantity=1))
    engine.submit(SYMBOL, stop("buy100b", "buy", 100, quantity=1))
    engine.submit(SYMBOL, stop("buy120", "buy", 120, quantity=1))
    engine.submit(SYMBOL, stop("sell95", "sell", 95, price=90, quantity=1))
    engine.submit(SYMBOL, stop("sell99", "sell", 99, quantity=1))

    # when: last 105 crosses buy stops <= 105; nothing crosses the sells
    up = engine.trigger(SYMBOL, 105)
    down = engine.trigger(SYMBOL, 95)

    # then
    assert [e.order_id for e in up if isinstance(e, Triggered)] == ["buy100a", "buy100b", "buy105"]
    assert fills(up) == [
        ("a1", "buy100a", 110, 1),
        ("a1", "buy100b", 110, 1),
        ("a1", "buy105", 110, 1),
    ]
    assert [e.order_id for e in down if isinstance(e, Triggered)] == ["sell99", "sell95"]
    assert fills(down) == [("b1", "sell99", 90, 1), ("b1", "sell95", 90, 1)]
    assert [o.order.order_id for o in engine.snapshot(SYMBOL).stops] == ["buy120"]
    assert engine.trigger(SYMBOL, 100) == []


def test_triggered_stop_limit_rests_with_the_trigger_as_its_priority(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, stop("s1", "buy", 100, price=95, quantity=2))
    engine.submit(SYMBOL, limit("b1", "buy", 95, 1, owner=1))

    # when
    events = engine.trigger(SYMBOL, 100)

    # then
    triggered = events[0]
    assert isinstance(triggered, Triggered)
    assert (triggered.order_type, triggered.stop_price, triggered.last_price) == ("limit", 100, 100)
    bids = engine.snapshot(SYMBOL).bids
    assert [(o.order.order_id, o.seq) for o in bids] == [("b1", 2), ("s1", triggered.seq)]
    assert not bids[1].untriggered
    assert bids[1].order.order_type == OrderType.STOP_LIMIT


def test_triggered_stop_market_by_quote_spends_its_budget(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, limit("a1", "sell", 100, 3, owner=1))
    engine.submit(SYMBOL, stop("s1", "buy", 100, quantity=None, quote=250))

    # when
    events = engine.trigger(SYMBOL, 100)

    # then
    assert fills(events) == [("a1", "s1", 100, 2)]
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.order_id, done.reason, done.quote_remaining) == ("s1", "filled", 50)
    assert engine.snapshot(SYMBOL).stops == []


def test_cancelling_an_untriggered_stop_removes_it_from_its_trigger_set(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, stop("s1", "sell", 90, quantity=4))

    # when
    events = engine.cancel(SYMBOL, "s1")

    # then
    assert isinstance(events[0], Done)
    assert (events[0].reason, events[0].remaining) == ("user", 4)
    assert engine.trigger(SYMBOL, 80) == []


def test_trigger_works_in_batches(redis_client: redis_lib.Redis) -> None:
    # given
    engine = Engine(redis_client, trigger_batch=2)
    engine.rebuild(SYMBOL, [])
    engine.submit(SYMBOL, limit("a1", "sell", 100, 50, owner=1))
    for i in range(5):
        engine.submit(SYMBOL, stop(f"s{i}", "buy", 100))

    # when
    events = engine.trigger(SYMBOL, 100)

    # then
    assert [e.order_id for e in events if isinstance(e, Triggered)] == [f"s{i}" for i in range(5)]
    assert len(fills(events)) == 5


def build_mixed_book(engine: Engine) -> None:
    for i, (side, price, quantity, owner) in enumerate(
        [
            ("sell", 103, 4, 1),
            ("sell", 101, 2, 2),
            ("sell", 101, 5, 3),
            ("sell", 102, 1, 1),
            ("buy", 99, 3, 4),
            ("buy", 100, 2, 5),
            ("buy", 99, 6, 6),
            ("buy", 100, 1, 7),
        ]
    ):
        engine.submit(SYMBOL, limit(f"o{i}", side, price, quantity, owner=owner))
    engine.submit(SYMBOL, limit("t", "buy", 101, 3, owner=8))  # partly fills o1, o2
    engine.submit(SYMBOL, stop("s1", "sell", 95, price=94, quantity=2))
    engine.submit(SYMBOL, stop("s2", "buy", 110, quantity=None, quote=900))


def test_rebuild_from_a_snapshot_gives_the_same_book_and_the_same_fills(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given
    build_mixed_book(engine)
    before = engine.snapshot(SYMBOL)
    open_orders = [*before.bids, *before.asks, *before.stops]
    open_orders.sort(key=lambda o: o.seq or 0)
    first_epoch = engine.epoch(SYMBOL)
    redis_client.flushdb()  # Redis lost everything

    # when
    epoch = engine.rebuild(SYMBOL, open_orders, min_seq=before.sequence)

    # then
    after = engine.snapshot(SYMBOL)
    assert (after.bids, after.asks, after.stops) == (before.bids, before.asks, before.stops)
    assert after.sequence == before.sequence
    assert epoch != first_epoch
    assert engine.epoch(SYMBOL) == epoch
    taker = limit("big", "buy", 103, 9, owner=9)
    rebuilt_fills = fills(engine.submit(SYMBOL, taker))
    assert rebuilt_fills == [("o2", "big", 101, 4), ("o3", "big", 102, 1), ("o0", "big", 103, 4)]


def test_rebuild_without_sequences_keeps_the_given_order_after_min_seq(engine: Engine) -> None:
    # given: open orders as PostgreSQL lists them, oldest first, without engine seqs
    open_orders = [
        RestingOrder(limit("x1", "sell", 101, 5, owner=1), remaining=2),
        RestingOrder(limit("x2", "sell", 101, 1, owner=2), remaining=1),
        RestingOrder(limit("x3", "buy", 99, 4, owner=3), remaining=4),
        RestingOrder(stop("x4", "sell", 90, quantity=3), remaining=3, untriggered=True),
    ]

    # when
    engine.rebuild(SYMBOL, open_orders, min_seq=1000)

    # then
    snapshot = engine.snapshot(SYMBOL)
    assert [(o.order.order_id, o.seq, o.remaining) for o in snapshot.asks] == [
        ("x1", 1001, 2),
        ("x2", 1002, 1),
    ]
    assert engine.depth(SYMBOL).asks == [(101, 3)]
    assert [o.order.order_id for o in snapshot.stops] == ["x4"]
    next_event = engine.submit(SYMBOL, limit("n", "buy", 50, 1, owner=3))[0]
    assert next_event.seq == 1005


def test_rebuild_replaces_an_existing_book(engine: Engine) -> None:
    # given
    build_mixed_book(engine)

    # when
    engine.rebuild(SYMBOL, [RestingOrder(limit("only", "buy", 50, 1, owner=1), remaining=1)])

    # then
    snapshot = engine.snapshot(SYMBOL)
    assert [o.order.order_id for o in snapshot.bids] == ["only"]
    assert snapshot.asks == []
    assert snapshot.stops == []
    assert engine.depth(SYMBOL).asks == []
    done = engine.cancel_all(SYMBOL, 1)[0]
    assert isinstance(done, Done)
    assert done.order_id == "only"


def test_rebuild_refuses_orders_out_of_sequence(engine: Engine) -> None:
    # given
    rows = [
        RestingOrder(limit("a", "sell", 101, 1), remaining=1, seq=5),
        RestingOrder(limit("b", "sell", 101, 1), remaining=1, seq=3),
    ]

    # when / then
    with pytest.raises(InvalidEngineOrder):
        engine.rebuild(SYMBOL, rows)


def test_house_mode_fills_stops_that_cannot_rest_against_the_house_at_the_trigger_price(
    engine: Engine,
) -> None:
    # given a user's ask in the book, a stop-market sell, a stop-market buy by quote, a
    # stop-limit IOC buy capped at 104 and a GTC stop-limit buy
    engine.submit(SYMBOL, limit("a1", "sell", 110, 10, owner=1))
    engine.submit(SYMBOL, stop("sell", "sell", 105, quantity=3))
    engine.submit(SYMBOL, stop("quote", "buy", 100, quantity=None, quote=250))
    capped = EngineOrder(
        order_id="ioc",
        owner=5,
        side=Side.BUY,
        order_type=OrderType.STOP_LIMIT,
        price=104,
        quantity=2,
        stop_price=100,
        time_in_force=TimeInForce.IOC,
    )
    engine.submit(SYMBOL, capped)
    engine.submit(SYMBOL, stop("gtc", "buy", 100, price=99, quantity=1))

    # when the feed observes 102 (house mode; the sell stop at 105 triggers too: 102 <= 105)
    events = engine.trigger(SYMBOL, 102, house=True)

    # then the stops that cannot rest filled whole against the house at 102, the GTC one rests
    assert fills(events) == [
        ("house", "quote", 102, 2),
        ("house", "ioc", 102, 2),
        ("house", "sell", 102, 3),
    ]
    done = {e.order_id: e for e in events if isinstance(e, Done)}
    assert done["quote"].reason == "filled"
    assert done["quote"].quote_remaining == 250 - 204
    assert {done["ioc"].reason, done["sell"].reason} == {"filled"}
    assert "gtc" not in done
    assert engine.depth(SYMBOL).bids == [(99, 1)]
    assert engine.depth(SYMBOL).asks == [(110, 10)]
    snapshot = engine.snapshot(SYMBOL)
    assert snapshot.stops == []
    assert [o.order.order_id for o in snapshot.bids] == ["gtc"]


def test_house_mode_cancels_an_ioc_stop_whose_limit_the_price_passed(engine: Engine) -> None:
    # given a stop-limit IOC buy capped at 104
    capped = EngineOrder(
        order_id="ioc",
        owner=5,
        side=Side.BUY,
        order_type=OrderType.STOP_LIMIT,
        price=104,
        quantity=2,
        stop_price=100,
        time_in_force=TimeInForce.IOC,
    )
    engine.submit(SYMBOL, capped)

    # when the feed jumps to 106
    events = engine.trigger(SYMBOL, 106, house=True)

    # then it triggered and ended ioc without a fill, leaving nothing behind
    assert kinds(events) == ["triggered", "done"]
    assert isinstance(events[-1], Done)
    assert events[-1].reason == "ioc"
    assert engine.snapshot(SYMBOL).bids == []


def test_state_whose_epoch_has_another_format_counts_as_missing_until_rebuilt(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given a market whose epoch lacks the current format, with a resting ask in its book
    tag = "{" + SYMBOL + "}"
    redis_client.flushdb()
    redis_client.set(f"epoch:{tag}", "v2.0123")
    redis_client.zadd(f"book:{tag}:asks", {"0000000000000003:a1": 101})

    # when / then: no state until recovery rebuilds the market
    assert not engine.has_state(SYMBOL)
    with pytest.raises(EngineStateMissing):
        engine.submit(SYMBOL, limit("b1", "buy", 101, 1, owner=8))
    engine.rebuild(SYMBOL, [RestingOrder(limit("a1", "sell", 101, 2, owner=7), remaining=2, seq=3)])

    # then the rebuilt book trades
    assert engine.has_state(SYMBOL)
    assert fills(engine.submit(SYMBOL, limit("b1", "buy", 101, 1, owner=8))) == [
        ("a1", "b1", 101, 1)
    ]
    assert [e.kind for e in engine.cancel_all(SYMBOL, 7)] == ["done"]


# --- take-profits: the same trigger sets, the opposite direction ----------------------------------


def test_a_take_profit_sell_triggers_when_the_price_rises_to_its_stop(engine: Engine) -> None:
    # given a bid to sell into, and a take-profit sell at 110 (a market one) and 120 (a limit)
    engine.submit(SYMBOL, limit("b1", "buy", 108, 10, owner=1))
    engine.submit(SYMBOL, take_profit("tp110", "sell", 110, quantity=2))
    engine.submit(SYMBOL, take_profit("tp120", "sell", 120, price=105, quantity=1))

    # when the last price falls to 90, then rises to 110
    down = engine.trigger(SYMBOL, 90)
    up = engine.trigger(SYMBOL, 110)

    # then a fall triggers nothing; the rise to 110 triggers only the one at 110, as a market
    assert down == []
    assert triggered_ids(up) == ["tp110"]
    triggered = up[0]
    assert isinstance(triggered, Triggered)
    assert (triggered.order_type, triggered.stop_price, triggered.last_price) == (
        "market",
        110,
        110,
    )
    assert fills(up) == [("b1", "tp110", 108, 2)]
    assert [o.order.order_id for o in engine.snapshot(SYMBOL).stops] == ["tp120"]


def test_a_take_profit_buy_triggers_when_the_price_falls_to_its_stop(engine: Engine) -> None:
    # given an ask to buy from, and take-profit buys at 95 (a limit at 96) and 90
    engine.submit(SYMBOL, limit("a1", "sell", 96, 10, owner=1))
    engine.submit(SYMBOL, take_profit("tp95", "buy", 95, price=96, quantity=3))
    engine.submit(SYMBOL, take_profit("tp90", "buy", 90, quantity=None, quote=500))

    # when the last price rises to 120, then falls to 95
    up = engine.trigger(SYMBOL, 120)
    down = engine.trigger(SYMBOL, 95)

    # then a rise triggers nothing; the fall to 95 triggers only the one at 95, as a limit
    assert up == []
    assert triggered_ids(down) == ["tp95"]
    triggered = down[0]
    assert isinstance(triggered, Triggered)
    assert (triggered.order_type, triggered.stop_price) == ("limit", 95)
    assert fills(down) == [("a1", "tp95", 96, 3)]
    assert [o.order.order_id for o in engine.snapshot(SYMBOL).stops] == ["tp90"]

    # and a further fall to 90 triggers the other, spending its budget at the ask
    deeper = engine.trigger(SYMBOL, 90)
    assert triggered_ids(deeper) == ["tp90"]
    assert fills(deeper) == [("a1", "tp90", 96, 5)]
    done = deeper[-1]
    assert isinstance(done, Done)
    assert (done.order_id, done.reason, done.quote_remaining) == ("tp90", "filled", 500 - 480)
    assert engine.snapshot(SYMBOL).stops == []


def test_one_price_triggers_stops_and_take_profits_of_its_direction_by_stop_then_sequence(
    engine: Engine,
) -> None:
    # given liquidity on both sides and, on each side, a stop and a take-profit
    engine.submit(SYMBOL, limit("a1", "sell", 130, 10, owner=1))
    engine.submit(SYMBOL, limit("b1", "buy", 70, 10, owner=1))
    engine.submit(SYMBOL, take_profit("tp_sell_105", "sell", 105))
    engine.submit(SYMBOL, stop("stop_buy_100", "buy", 100))
    engine.submit(SYMBOL, stop("stop_buy_105", "buy", 105))
    engine.submit(SYMBOL, take_profit("tp_sell_100", "sell", 100))
    engine.submit(SYMBOL, take_profit("tp_buy_95", "buy", 95))
    engine.submit(SYMBOL, stop("stop_sell_95", "sell", 95))
    engine.submit(SYMBOL, stop("stop_sell_90", "sell", 90))

    # when the price rises to 105, then falls to 90
    up = engine.trigger(SYMBOL, 105)
    down = engine.trigger(SYMBOL, 90)

    # then the rise triggers the buy stops and the sell take-profits (lowest stop first, ties by
    # sequence), the fall the sell stops and the buy take-profits (highest stop first)
    assert triggered_ids(up) == ["stop_buy_100", "tp_sell_100", "tp_sell_105", "stop_buy_105"]
    assert triggered_ids(down) == ["tp_buy_95", "stop_sell_95", "stop_sell_90"]
    assert engine.snapshot(SYMBOL).stops == []


def test_the_trigger_sets_are_the_keys_stops_always_used(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given a stop and a take-profit on each side
    engine.submit(SYMBOL, stop("stop_buy", "buy", 105))
    engine.submit(SYMBOL, take_profit("tp_sell", "sell", 110))
    engine.submit(SYMBOL, stop("stop_sell", "sell", 90))
    engine.submit(SYMBOL, take_profit("tp_buy", "buy", 80))

    # when the trigger sets are read as Redis holds them
    tag = "{" + SYMBOL + "}"

    def ids(key: str) -> list[str]:
        return [str(m)[17:] for m in redis_client.zrange(key, 0, -1)]

    # then the rising orders are in stops:{S}:buy and the falling ones in stops:{S}:sell, where
    # state written before take-profits keeps its stops (no new layout, no rebuild)
    assert ids(f"stops:{tag}:buy") == ["stop_buy", "tp_sell"]
    assert ids(f"stops:{tag}:sell") == ["stop_sell", "tp_buy"]  # highest stop first


def test_cancelling_an_untriggered_take_profit_removes_it_from_its_trigger_set(
    engine: Engine,
) -> None:
    # given an untriggered take-profit on each side
    engine.submit(SYMBOL, take_profit("tp_sell", "sell", 110, quantity=4))
    engine.submit(SYMBOL, take_profit("tp_buy", "buy", 90, price=91, quantity=2, owner=6))

    # when both are cancelled, one alone and one with its owner's other orders
    cancelled = engine.cancel(SYMBOL, "tp_sell")
    cancelled_all = engine.cancel_all(SYMBOL, 6)

    # then each is done (user) with its remaining lots and no price triggers them any more
    assert [(e.order_id, e.reason, e.remaining) for e in cancelled if isinstance(e, Done)] == [
        ("tp_sell", "user", 4)
    ]
    assert [(e.order_id, e.reason) for e in cancelled_all if isinstance(e, Done)] == [
        ("tp_buy", "user")
    ]
    assert engine.snapshot(SYMBOL).stops == []
    assert engine.trigger(SYMBOL, 200) == []
    assert engine.trigger(SYMBOL, 50) == []


def test_rebuild_puts_take_profits_back_in_their_trigger_sets(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given take-profits on both sides beside stops, and a Redis that loses everything
    engine.submit(SYMBOL, limit("a1", "sell", 130, 10, owner=1))
    engine.submit(SYMBOL, limit("b1", "buy", 70, 10, owner=1))
    engine.submit(SYMBOL, take_profit("tp_sell", "sell", 110, price=75, quantity=2, owner=5))
    engine.submit(SYMBOL, take_profit("tp_buy", "buy", 90, quantity=None, quote=300, owner=6))
    engine.submit(SYMBOL, stop("stop_sell", "sell", 80, owner=7))
    before = engine.snapshot(SYMBOL)
    open_orders = sorted([*before.bids, *before.asks, *before.stops], key=lambda o: o.seq or 0)
    redis_client.flushdb()

    # when the market is rebuilt from them
    engine.rebuild(SYMBOL, open_orders, min_seq=before.sequence)

    # then the same orders wait, and each triggers in its own direction only
    after = engine.snapshot(SYMBOL)
    assert (after.bids, after.asks, after.stops) == (before.bids, before.asks, before.stops)
    assert engine.trigger(SYMBOL, 100) == []
    rise = engine.trigger(SYMBOL, 110)
    assert (triggered_ids(rise), fills(rise)) == (["tp_sell"], [])  # its limit 75 rests
    assert engine.depth(SYMBOL).asks == [(75, 2), (130, 10)]
    fall = engine.trigger(SYMBOL, 80)
    assert triggered_ids(fall) == ["tp_buy", "stop_sell"]
    assert fills(fall) == [
        ("tp_sell", "tp_buy", 75, 2),
        ("a1", "tp_buy", 130, 1),
        ("b1", "stop_sell", 70, 1),
    ]
    assert engine.snapshot(SYMBOL).stops == []


def test_rebuild_refuses_an_untriggered_order_that_is_no_trigger_type(engine: Engine) -> None:
    # given a limit order marked untriggered
    rows = [RestingOrder(limit("a", "sell", 101, 1), remaining=1, untriggered=True)]

    # when / then
    with pytest.raises(InvalidEngineOrder, match="only stops and take-profits"):
        engine.rebuild(SYMBOL, rows)


def test_the_engine_refuses_a_take_profit_without_a_stop_price_or_a_limit_with_one(
    engine: Engine,
) -> None:
    # given
    bad = [
        EngineOrder("t", 1, Side.SELL, OrderType.TAKE_PROFIT_MARKET, quantity=1),
        EngineOrder("t", 1, Side.SELL, OrderType.TAKE_PROFIT_LIMIT, quantity=1, price=5),
        EngineOrder("t", 1, Side.SELL, OrderType.TAKE_PROFIT_LIMIT, quantity=1, stop_price=5),
        EngineOrder(
            "t", 1, Side.SELL, OrderType.TAKE_PROFIT_MARKET, quantity=1, price=5, stop_price=5
        ),
        EngineOrder("t", 1, Side.BUY, OrderType.TAKE_PROFIT_MARKET, quantity=1, stop_price=0),
        EngineOrder("t", 1, Side.BUY, OrderType.TAKE_PROFIT_MARKET, quantity=1, stop_price=2**53),
        EngineOrder("t", 1, Side.SELL, OrderType.LIMIT, quantity=1, price=5, stop_price=5),
        EngineOrder("t", 1, Side.SELL, OrderType.TAKE_PROFIT_MARKET, quote_amount=9, stop_price=5),
    ]

    # when / then
    for order in bad:
        with pytest.raises(InvalidEngineOrder):
            engine.submit(SYMBOL, order)
    assert engine.snapshot(SYMBOL).sequence == 0


def test_house_mode_fills_take_profits_that_cannot_rest_against_the_house(
    engine: Engine,
) -> None:
    # given a take-profit market sell at 105 and a GTC take-profit limit sell at 104
    engine.submit(SYMBOL, take_profit("market", "sell", 105, quantity=3))
    engine.submit(SYMBOL, take_profit("gtc", "sell", 104, price=200, quantity=1))

    # when the feed observes 106 (house mode)
    events = engine.trigger(SYMBOL, 106, house=True)

    # then the market one filled whole against the house at 106, the limit one rests
    assert triggered_ids(events) == ["gtc", "market"]
    assert fills(events) == [("house", "market", 106, 3)]
    assert engine.depth(SYMBOL).asks == [(200, 1)]
    assert engine.snapshot(SYMBOL).stops == []


def test_rebuilt_trigger_orders_given_without_remaining_lots_trade_their_quantity_only(
    engine: Engine,
) -> None:
    # given untriggered orders as recovery passes them (no remaining lots: they never traded),
    # a stop-market sell of 2 and a take-profit limit buy of 3, beside a bid and an ask of 10
    rows = [
        RestingOrder(stop("stop_sell", "sell", 95, quantity=2), remaining=None, untriggered=True),
        RestingOrder(
            take_profit("tp_buy", "buy", 95, price=96, quantity=3, owner=6),
            remaining=None,
            untriggered=True,
        ),
        RestingOrder(limit("b1", "buy", 90, 10, owner=1), remaining=10),
        RestingOrder(limit("a1", "sell", 96, 10, owner=1), remaining=10),
    ]
    engine.rebuild(SYMBOL, rows)

    # when the price falls to 95
    events = engine.trigger(SYMBOL, 95)

    # then each trades its own quantity, no more
    assert triggered_ids(events) == ["stop_sell", "tp_buy"]
    assert fills(events) == [("b1", "stop_sell", 90, 2), ("a1", "tp_buy", 96, 3)]
    assert engine.depth(SYMBOL).bids == [(90, 8)]
    assert engine.depth(SYMBOL).asks == [(96, 7)]
