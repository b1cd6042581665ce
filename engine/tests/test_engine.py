"""The engine against a real Redis: order types, time in force, FIFO, STP, cancels, idempotency."""

from __future__ import annotations

import dataclasses

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.engine import (
    CancelRequest,
    Engine,
    EngineOrder,
    EngineStateMissing,
    InvalidEngineOrder,
    Side,
)
from engine.engine import OrderType as T
from engine.events import (
    Accepted,
    CancelRejected,
    Done,
    Fill,
    Rejected,
    SelfTradePrevented,
    parse_entry,
    parse_script_answer,
)
from engine.keys import events_key
from engine.tests.conftest import SYMBOL
from engine.tests.factories import fills, kinds, limit, market


def rest_asks(engine: Engine, *orders: tuple[str, int, int, int]) -> None:
    for order_id, price, quantity, owner in orders:
        engine.submit(SYMBOL, limit(order_id, "sell", price, quantity, owner=owner))


def test_limit_orders_rest_and_depth_aggregates_levels(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 5, 1), ("a2", 101, 3, 2), ("a3", 103, 4, 1))
    engine.submit(SYMBOL, limit("b1", "buy", 99, 2, owner=3))
    engine.submit(SYMBOL, limit("b2", "buy", 100, 7, owner=3))

    # when
    depth = engine.depth(SYMBOL, 10)

    # then
    assert depth.bids == [(100, 7), (99, 2)]
    assert depth.asks == [(101, 8), (103, 4)]
    assert depth.sequence == 5
    assert engine.best_bid_ask(SYMBOL) == (100, 101)
    assert engine.depth(SYMBOL, 1).asks == [(101, 8)]


def test_fifo_inside_a_level_fills_the_oldest_maker_first(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 101, 2, 2), ("a3", 101, 2, 3))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 101, 3, owner=9))

    # then
    assert fills(events) == [("a1", "t", 101, 2), ("a2", "t", 101, 1)]
    assert [(o.order.order_id, o.remaining) for o in engine.snapshot(SYMBOL).asks] == [
        ("a2", 1),
        ("a3", 2),
    ]


def test_taker_walks_many_levels_and_makers_at_the_makers_prices(engine: Engine) -> None:
    # given
    rest_asks(
        engine,
        ("a1", 103, 1, 1),
        ("a2", 101, 2, 2),
        ("a3", 102, 3, 3),
        ("a4", 101, 1, 4),
        ("a5", 104, 9, 5),
    )

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 103, 10, owner=9))

    # then
    assert fills(events) == [
        ("a2", "t", 101, 2),
        ("a4", "t", 101, 1),
        ("a3", "t", 102, 3),
        ("a1", "t", 103, 1),
    ]
    assert kinds(events) == [
        "accepted",
        "fill",
        "done",
        "fill",
        "done",
        "fill",
        "done",
        "fill",
        "done",
    ]
    accepted = events[0]
    assert isinstance(accepted, Accepted)
    assert accepted.resting
    last_fill = events[-2]
    assert isinstance(last_fill, Fill)
    assert (last_fill.maker_remaining, last_fill.taker_remaining) == (0, 3)
    assert engine.depth(SYMBOL).bids == [(103, 3)]
    assert engine.depth(SYMBOL).asks == [(104, 9)]


def test_partial_fill_of_a_maker_keeps_its_place_and_remaining(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 10, 1), ("a2", 101, 5, 2))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 101, 4, owner=9))

    # then
    assert fills(events) == [("a1", "t", 101, 4)]
    assert kinds(events)[-1] == "done"
    assert [(o.order.order_id, o.remaining) for o in engine.snapshot(SYMBOL).asks] == [
        ("a1", 6),
        ("a2", 5),
    ]
    assert engine.depth(SYMBOL).asks == [(101, 11)]


def test_ioc_remainder_is_cancelled_with_reason_ioc(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 105, 2, 1))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 102, 5, owner=9, tif="IOC"))

    # then
    assert fills(events) == [("a1", "t", 101, 2)]
    assert events[-1] == Done(
        seq=events[-1].seq,
        ts_ms=events[-1].ts_ms,
        order_id="t",
        owner=9,
        side="buy",
        reason="ioc",
        remaining=3,
    )
    assert engine.depth(SYMBOL).bids == []


def test_fok_that_cannot_fill_entirely_does_nothing(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 102, 2, 2), ("a3", 110, 9, 3))
    before = engine.snapshot(SYMBOL)

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 102, 5, owner=9, tif="FOK"))

    # then
    assert kinds(events) == ["accepted", "done"]
    assert isinstance(events[1], Done)
    assert events[1].reason == "fok"
    assert events[1].remaining == 5
    after = engine.snapshot(SYMBOL)
    assert (after.bids, after.asks) == (before.bids, before.asks)


def test_fok_that_can_fill_fills_across_levels(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 102, 2, 2), ("a3", 102, 9, 3))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 102, 5, owner=9, tif="FOK"))

    # then
    assert fills(events) == [("a1", "t", 101, 2), ("a2", "t", 102, 2), ("a3", "t", 102, 1)]
    assert isinstance(events[-1], Done)
    assert events[-1].reason == "filled"


def test_fok_counts_nothing_past_an_own_order_when_the_taker_would_expire(engine: Engine) -> None:
    # given: the taker's own ask sits before enough liquidity
    rest_asks(engine, ("a1", 101, 1, 1), ("own", 101, 1, 9), ("a2", 101, 5, 2))

    # when
    expire_taker = engine.submit(SYMBOL, limit("t1", "buy", 101, 3, owner=9, tif="FOK"))
    expire_maker = engine.submit(
        SYMBOL, limit("t2", "buy", 101, 3, owner=9, tif="FOK", stp="expire_maker")
    )

    # then
    assert fills(expire_taker) == []
    assert isinstance(expire_taker[-1], Done)
    assert expire_taker[-1].reason == "fok"
    assert fills(expire_maker) == [("a1", "t2", 101, 1), ("a2", "t2", 101, 2)]
    assert any(
        isinstance(e, Done) and e.order_id == "own" and e.reason == "self_trade"
        for e in expire_maker
    )


def test_post_only_that_would_take_is_rejected_and_never_fills(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1))

    # when
    taking = engine.submit(SYMBOL, limit("p1", "buy", 101, 1, owner=9, post_only=True))
    making = engine.submit(SYMBOL, limit("p2", "buy", 100, 1, owner=9, post_only=True))

    # then
    assert kinds(taking) == ["rejected"]
    assert isinstance(taking[0], Rejected)
    assert taking[0].reason == "would_take"
    assert kinds(making) == ["accepted"]
    assert engine.depth(SYMBOL).bids == [(100, 1)]
    assert engine.depth(SYMBOL).asks == [(101, 2)]


def test_market_sell_by_quantity_walks_bids_best_first(engine: Engine) -> None:
    # given
    engine.submit(SYMBOL, limit("b1", "buy", 99, 2, owner=1))
    engine.submit(SYMBOL, limit("b2", "buy", 100, 2, owner=2))

    # when
    events = engine.submit(SYMBOL, market("m", "sell", quantity=3, owner=9))

    # then
    assert fills(events) == [("b2", "m", 100, 2), ("b1", "m", 99, 1)]
    assert isinstance(events[-1], Done)
    assert events[-1].reason == "filled"
    assert engine.depth(SYMBOL).bids == [(99, 1)]


def test_market_order_never_rests_and_reports_insufficient_liquidity(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1))

    # when
    events = engine.submit(SYMBOL, market("m", "buy", quantity=5, owner=9))

    # then
    assert fills(events) == [("a1", "m", 101, 2)]
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.reason, done.remaining) == ("insufficient_liquidity", 3)
    assert engine.depth(SYMBOL).bids == []
    accepted = events[0]
    assert isinstance(accepted, Accepted)
    assert not accepted.resting


def test_market_buy_by_quote_spends_whole_lots_and_leaves_dust(engine: Engine) -> None:
    # given: 2 lots at 100 and 5 lots at 120
    rest_asks(engine, ("a1", 100, 2, 1), ("a2", 120, 5, 2))

    # when: 500 quote units buy 2 lots for 200, then 2 lots for 240; 60 < 120 is dust
    events = engine.submit(SYMBOL, market("m", "buy", quote=500, owner=9))

    # then
    assert fills(events) == [("a1", "m", 100, 2), ("a2", "m", 120, 2)]
    fill_events = [e for e in events if isinstance(e, Fill)]
    assert [f.taker_quote_remaining for f in fill_events] == [300, 60]
    assert all(f.taker_remaining is None for f in fill_events)
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.reason, done.quote_remaining, done.remaining) == ("filled", 60, None)
    assert engine.depth(SYMBOL).asks == [(120, 3)]


def test_market_buy_by_quote_too_small_for_one_lot_buys_nothing(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 100, 2, 1))

    # when
    events = engine.submit(SYMBOL, market("m", "buy", quote=99, owner=9))

    # then
    assert fills(events) == []
    assert isinstance(events[-1], Done)
    assert (events[-1].reason, events[-1].quote_remaining) == ("insufficient_liquidity", 99)


@pytest.mark.parametrize(
    ("mode", "maker_left", "taker_fills", "expired"),
    [
        ("expire_taker", ["own", "a2"], [], ["t"]),
        ("expire_maker", [], [("a2", "t", 101, 2)], ["own"]),
        ("expire_both", ["a2"], [], ["own", "t"]),
    ],
)
def test_self_trade_prevention_modes(
    engine: Engine,
    mode: str,
    maker_left: list[str],
    taker_fills: list[tuple[str, str, int, int]],
    expired: list[str],
) -> None:
    # given: the owner's own ask is first in line
    rest_asks(engine, ("own", 101, 3, 7), ("a2", 101, 2, 8))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 101, 2, owner=7, stp=mode, tif="IOC"))

    # then
    stp = [e for e in events if isinstance(e, SelfTradePrevented)]
    assert len(stp) == 1
    assert (
        stp[0].taker_order_id,
        stp[0].maker_order_id,
        stp[0].owner,
        stp[0].mode,
        stp[0].quantity,
    ) == ("t", "own", 7, mode, 2)
    assert fills(events) == taker_fills
    assert [e.order_id for e in events if isinstance(e, Done) and e.reason == "self_trade"] == (
        expired
    )
    assert [o.order.order_id for o in engine.snapshot(SYMBOL).asks] == maker_left


def test_self_trade_prevention_after_partial_fill_reports_the_remaining(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 100, 1, 1), ("own", 101, 3, 7))

    # when
    events = engine.submit(SYMBOL, limit("t", "buy", 101, 4, owner=7))

    # then
    assert fills(events) == [("a1", "t", 100, 1)]
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.order_id, done.reason, done.remaining) == ("t", "self_trade", 3)
    assert engine.depth(SYMBOL).bids == []


def test_cancel_removes_a_resting_order(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 101, 3, 1))

    # when
    events = engine.cancel(SYMBOL, "a1")

    # then
    assert len(events) == 1
    assert isinstance(events[0], Done)
    assert (events[0].order_id, events[0].reason, events[0].remaining) == ("a1", "user", 2)
    assert engine.depth(SYMBOL).asks == [(101, 3)]


def test_cancel_after_a_full_fill_is_a_harmless_no_op_event(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1))
    engine.submit(SYMBOL, limit("t", "buy", 101, 2, owner=9))

    # when
    events = engine.cancel(SYMBOL, "a1")
    again = engine.cancel(SYMBOL, "never-seen")

    # then
    assert len(events) == 1
    assert isinstance(events[0], CancelRejected)
    assert (events[0].order_id, events[0].reason) == ("a1", "not_found")
    assert isinstance(again[0], CancelRejected)
    assert engine.depth(SYMBOL).asks == []


def test_cancel_all_cancels_only_that_owners_orders_oldest_first(engine: Engine) -> None:
    # given
    rest_asks(engine, ("a1", 101, 2, 1), ("x", 101, 1, 2), ("a2", 105, 3, 1))
    engine.submit(SYMBOL, limit("b1", "buy", 90, 1, owner=1))
    engine.submit(
        SYMBOL, EngineOrder("s1", 1, Side.SELL, T.STOP_LIMIT, quantity=1, price=80, stop_price=85)
    )

    # when
    events = engine.cancel_all(SYMBOL, 1)

    # then
    assert [(e.order_id, e.reason) for e in events if isinstance(e, Done)] == [
        ("a1", "user"),
        ("a2", "user"),
        ("b1", "user"),
        ("s1", "user"),
    ]
    snapshot = engine.snapshot(SYMBOL)
    assert [o.order.order_id for o in snapshot.asks] == ["x"]
    assert snapshot.bids == []
    assert snapshot.stops == []
    assert engine.cancel_all(SYMBOL, 1) == []


def test_resubmitting_a_seen_order_id_changes_nothing(engine: Engine) -> None:
    # given: one resting, one filled, one rejected order
    rest_asks(engine, ("a1", 101, 2, 1), ("a2", 102, 1, 1))
    engine.submit(SYMBOL, limit("t", "buy", 102, 1, owner=9))
    engine.submit(SYMBOL, limit("p", "buy", 101, 1, owner=9, post_only=True))
    before = engine.snapshot(SYMBOL)

    # when
    answers = [
        engine.submit(SYMBOL, limit("a1", "sell", 101, 2, owner=1)),
        engine.submit(SYMBOL, limit("t", "buy", 102, 1, owner=9)),
        engine.submit(SYMBOL, limit("p", "buy", 101, 1, owner=9, post_only=True)),
    ]

    # then
    assert answers == [[], [], []]
    assert engine.snapshot(SYMBOL) == before


def test_stream_holds_the_same_events_in_order_with_gap_free_seq(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given
    returned = []
    returned += engine.submit(SYMBOL, limit("a1", "sell", 101, 2, owner=1))
    returned += engine.submit(SYMBOL, limit("t", "buy", 101, 3, owner=9))
    returned += engine.cancel(SYMBOL, "t")

    # when
    entries = redis_client.xrange(events_key(SYMBOL))
    streamed = [e for _, fields in entries for e in parse_entry(fields)]

    # then
    assert streamed == returned
    assert [e.seq for e in streamed] == list(range(1, len(streamed) + 1))


def test_resting_order_stores_its_acceptance_time_and_sequence(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given
    now_ms = int(redis_client.time()[0]) * 1000

    # when
    accepted = engine.submit(SYMBOL, limit("a1", "sell", 101, 2, owner=1))[0]

    # then
    (resting,) = engine.snapshot(SYMBOL).asks
    assert resting.seq == accepted.seq
    assert resting.accepted_ms == accepted.ts_ms
    assert now_ms - 1000 <= resting.accepted_ms <= now_ms + 2000


def test_a_market_without_engine_state_refuses_to_match(redis_client: redis_lib.Redis) -> None:
    # given: a Redis that lost (or never had) the market
    engine = Engine(redis_client)

    # when / then
    assert not engine.has_state("ETH-KRW")
    with pytest.raises(EngineStateMissing):
        engine.submit("ETH-KRW", limit("a1", "sell", 101, 2))
    with pytest.raises(EngineStateMissing):
        engine.cancel("ETH-KRW", "a1")
    assert redis_client.dbsize() == 0


def test_invalid_orders_are_refused_before_reaching_redis(engine: Engine) -> None:
    # given
    bad = [
        limit("a 1", "sell", 101, 2),
        limit("a1", "sell", 0, 2),
        limit("a1", "sell", 101, 2**53),
        limit("a1", "sell", 2**53, 1),
        limit("a1", "sell", 2**27, 2**27),  # each in range, lots x ticks is not
        market("m", "buy", quote=2**53),
        EngineOrder("s", 1, Side.SELL, T.STOP_MARKET, quantity=2**27, stop_price=2**27),
        market("m", "sell", quote=100),
        market("m", "buy", quantity=1, quote=100),
        limit("a1", "sell", 101, 2, tif="IOC", post_only=True),
        EngineOrder("s", 1, Side.BUY, T.STOP_LIMIT, quantity=1, price=5),
    ]

    # when / then
    for order in bad:
        with pytest.raises(InvalidEngineOrder):
            engine.submit(SYMBOL, order)
    assert engine.snapshot(SYMBOL).sequence == 0


def test_submit_many_pipelines_in_order(engine: Engine) -> None:
    # given
    orders = [(SYMBOL, limit(f"a{i}", "sell", 100 + i % 3, 1, owner=1)) for i in range(20)]
    orders.append((SYMBOL, limit("t", "buy", 101, 5, owner=2)))
    cancels = [(SYMBOL, CancelRequest("a0")), (SYMBOL, CancelRequest("a1"))]

    # when
    answers = engine.submit_many([*orders, *cancels], batch=7)

    # then
    assert len(answers) == 23
    assert kinds(answers[-2]) == ["cancel_rejected"]
    assert kinds(answers[-1]) == ["done"]
    assert fills(answers[20]) == [
        ("a0", "t", 100, 1),
        ("a3", "t", 100, 1),
        ("a6", "t", 100, 1),
        ("a9", "t", 100, 1),
        ("a12", "t", 100, 1),
    ]
    assert engine.submit_many(orders[:3]) == [[], [], []]


def _without_time(events: list) -> list:
    return [dataclasses.replace(e, ts_ms=0) for e in events]


def test_submit_many_runs_a_markets_operations_in_one_call_and_one_stream_entry(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given
    flow: list[tuple[str, EngineOrder | CancelRequest]] = [
        (SYMBOL, limit(f"a{i}", "sell", 100 + i, 2, owner=1)) for i in range(5)
    ]
    flow += [(SYMBOL, market("t", "buy", quantity=5, owner=2)), (SYMBOL, CancelRequest("a4"))]

    # when
    answers = engine.submit_many(flow)

    # then one entry carries every event, in the order the answers give them
    entries = redis_client.xrange(events_key(SYMBOL))
    assert len(entries) == 1
    streamed = parse_entry(entries[0][1])
    assert streamed == [e for events in answers for e in events]
    assert [e.seq for e in streamed] == list(range(1, len(streamed) + 1))
    assert fills(answers[5]) == [("a0", "t", 100, 2), ("a1", "t", 101, 2), ("a2", "t", 102, 1)]
    assert kinds(answers[6]) == ["done"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # flushes itself
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["limit", "market", "cancel"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(95, 105),
            st.integers(1, 6),
            st.integers(1, 3),
            st.sampled_from(["GTC", "IOC", "FOK"]),
        ),
        min_size=1,
        max_size=40,
    ),
    per_call=st.integers(1, 9),
)
def test_batched_operations_do_exactly_what_one_call_each_does(
    redis_client: redis_lib.Redis, ops: list, per_call: int
) -> None:
    # given two empty markets, one fed call by call and one in batches
    redis_client.flushdb()
    engine = Engine(redis_client)
    engine.rebuild("ONE-KRW", [])
    engine.rebuild("BAT-KRW", [])
    flow: list[EngineOrder | CancelRequest] = []
    for i, (kind, side, price, quantity, owner, tif) in enumerate(ops):
        if kind == "cancel":
            flow.append(CancelRequest(f"o{(i * 7) % max(i, 1)}"))
        elif kind == "market":
            flow.append(market(f"o{i}", side, quantity=quantity, owner=owner))
        else:
            flow.append(limit(f"o{i}", side, price, quantity, owner=owner, tif=tif))

    # when
    single = [
        engine.cancel("ONE-KRW", item.order_id)
        if isinstance(item, CancelRequest)
        else engine.submit("ONE-KRW", item)
        for item in flow
    ]
    batched = engine.submit_many(
        [("BAT-KRW", item) for item in flow], batch=per_call * 2, per_call=per_call
    )

    # then the same events and the same book
    assert [_without_time(events) for events in batched] == [
        _without_time(events) for events in single
    ]
    one, bat = engine.snapshot("ONE-KRW"), engine.snapshot("BAT-KRW")
    assert one.sequence == bat.sequence
    assert [dataclasses.replace(o, accepted_ms=None) for o in [*one.bids, *one.asks]] == [
        dataclasses.replace(o, accepted_ms=None) for o in [*bat.bids, *bat.asks]
    ]


def test_a_malformed_operation_fails_the_whole_batch_before_anything_changes(
    engine: Engine, redis_client: redis_lib.Redis
) -> None:
    # given a batch whose second operation is malformed (Python would refuse it: sent raw)
    engine.submit(SYMBOL, limit("a1", "sell", 101, 2, owner=1))
    before, entries_before = engine.snapshot(SYMBOL), redis_client.xlen(events_key(SYMBOL))
    good = ["s", *limit("t", "buy", 101, 1, owner=2).script_args()]
    bad = ["s", *limit("u", "buy", 101, 1, owner=2).script_args()]
    bad[5] = "GTX"  # no such time in force (bad[0] is the tag)

    # when
    with pytest.raises(redis_lib.ResponseError, match="bad time in force"):
        engine._run("submit_batch", SYMBOL, [str(engine.seen_window_ms), *good, *bad])

    # then
    assert engine.snapshot(SYMBOL) == before
    assert redis_client.xlen(events_key(SYMBOL)) == entries_before


def test_a_line_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="not engine events"):
        parse_script_answer("fill\t1\t2\tm\tt")
    with pytest.raises(ValueError, match="not engine events"):
        parse_script_answer("bogus\t1\t2")


def test_the_function_library_and_the_scripts_do_the_same(redis_client: redis_lib.Redis) -> None:
    # given one engine on the function library (when the server has one) and one on EVALSHA
    library, scripts = Engine(redis_client), Engine(redis_client, use_functions=False)
    library.rebuild("ONE-KRW", [])
    scripts.rebuild("TWO-KRW", [])
    assert scripts._functions is False
    flow: list[EngineOrder | CancelRequest] = [
        limit("a1", "sell", 101, 2, owner=1),
        limit("a2", "sell", 102, 3, owner=2),
        limit("b1", "buy", 99, 4, owner=3),
        market("t", "buy", quantity=4, owner=9),
        CancelRequest("b1"),
        market("q", "buy", quote=500, owner=8),
    ]

    # when
    one = library.submit_many([("ONE-KRW", item) for item in flow])
    two = scripts.submit_many([("TWO-KRW", item) for item in flow])

    # then
    assert [_without_time(e) for e in one] == [_without_time(e) for e in two]
    assert library.depth("ONE-KRW") == scripts.depth("TWO-KRW")
    redis_client.script_flush()  # a lost script is loaded again
    assert kinds(scripts.submit("TWO-KRW", limit("a3", "sell", 103, 1, owner=4))) == ["accepted"]
    if library._functions:  # Redis 7+: a lost library is loaded again
        redis_client.function_flush()
        assert kinds(library.submit("ONE-KRW", limit("a3", "sell", 103, 1, owner=4))) == [
            "accepted"
        ]


def test_out_of_range_refusals_name_the_field(engine: Engine) -> None:
    # given orders whose values, or lots x ticks, leave the engine's integer range
    cases = [
        (limit("a1", "sell", 2**53, 1), "price"),
        (limit("a1", "sell", 1, 2**53), "quantity"),
        (limit("a1", "sell", 2**27, 2**27), "quantity"),
        (market("m", "buy", quote=2**53), "quote_amount"),
    ]
    for order, field in cases:
        # when / then
        with pytest.raises(InvalidEngineOrder) as refused:
            order.check()
        assert (refused.value.field, refused.value.out_of_range) == (field, True)
    # and the largest product the engine holds passes
    limit("a1", "sell", 2**26, 2**26).check()
