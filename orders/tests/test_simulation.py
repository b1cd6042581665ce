"""The demo bots (``orders.simulation``, ``manage.py simulate_market``) on real PostgreSQL
and Redis. LPJ-KRW here: tick 1 KRW, lot 1 LPJ, start price 1,000 KRW, so the bots' quote grid
step (10 bps, rounded down) is one tick: bids 999/998/997, asks 1001/1002/1003."""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest

from accounts.services import user_create
from engine.runtime import get_engine
from markets.models import Trade
from orders.models import OPEN_STATUSES, Fill, Order
from orders.services import order_place
from orders.simulation import (
    DEFAULT_PLANS,
    STYLED_TRADERS,
    MarketSimulator,
    bots_ensure,
    grid_step,
    simulation_run,
)
from orders.tests.conftest import balance
from tradehive.testing.processes import start_manage, stop, wait_until
from wallets.models import Asset
from wallets.services import wallet_account_get, wallet_debit
from wallets.verification import ledger_verify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal
LPJ_PLAN = next(plan for plan in DEFAULT_PLANS if plan.symbol == "LPJ-KRW")


def simulator(**kwargs) -> MarketSimulator:
    kwargs.setdefault("trade_every_s", 3600.0)
    return MarketSimulator(plans=(LPJ_PLAN,), seed=7, **kwargs)


def book(symbol: str = "LPJ-KRW") -> tuple[list[int], list[int]]:
    """(bid prices, ask prices) in the engine, best first, in ticks (= KRW here)."""
    depth = get_engine().depth(symbol, 50)
    return [price for price, _ in depth.bids], [price for price, _ in depth.asks]


def bot_quotes() -> dict[str, set[Decimal]]:
    orders = Order.objects.filter(user__is_bot=True, status__in=OPEN_STATUSES)
    return {side: {o.price for o in orders if o.side == side} for side in ("buy", "sell")}


def test_a_step_on_an_empty_market_quotes_both_sides_around_the_start_price(lpj_krw, settle):
    # given an empty market and no bots yet
    sim = simulator()
    # when the bots take one step
    report = sim.step()
    settle(lpj_krw)
    # then three labelled makers' levels rest on each side around 1,000, nothing traded
    assert report.placed == 6
    assert book() == ([999, 998, 997], [1001, 1002, 1003])
    assert bot_quotes() == {"buy": {D(999), D(998), D(997)}, "sell": {D(1001), D(1002), D(1003)}}
    makers = {o.user.username for o in Order.objects.select_related("user")}
    assert makers == {"bot_maker_1", "bot_maker_2"}
    assert all(o.user.is_bot for o in Order.objects.select_related("user"))
    assert not Trade.objects.exists()
    # and each quote is worth at least the market's minimum
    assert all(o.price * o.quantity >= lpj_krw.min_notional for o in Order.objects.all())


def test_steps_with_settlement_trade_and_never_cross_the_book(lpj_krw, settle):
    # given bots that trade every step
    sim = simulator(trade_every_s=0.0)
    # when they run twelve steps, settlement keeping up
    for _ in range(12):
        sim.step()
        settle(lpj_krw)
        # then the book is never crossed and both sides stay quoted
        bids, asks = book()
        assert bids
        assert asks
        assert bids[0] < asks[0]
    # and trades happened at the bots' prices, taken by the taker bot and the styled traders
    trades = list(Trade.objects.order_by("sequence"))
    assert len(trades) >= 10
    takers = {f.user.username for f in Fill.objects.filter(liquidity="taker")}
    assert "bot_taker_1" in takers
    assert takers <= {"bot_taker_1", *STYLED_TRADERS}
    assert len(takers) > 1
    assert all(D(990) <= t.price <= D(1010) for t in trades)
    assert ledger_verify() == []


def test_the_same_seed_makes_the_same_quotes(lpj_krw, settle):
    # given a first run's quote sizes
    simulator().step()
    settle(lpj_krw)
    first = sorted((o.side, o.price, o.quantity) for o in Order.objects.all())
    for order in Order.objects.filter(status__in=OPEN_STATUSES):
        get_engine().cancel("LPJ-KRW", str(order.pk))
    settle(lpj_krw)
    # when a second simulator with the same seed quotes the (now empty) market again
    simulator().step()
    settle(lpj_krw)
    # then it chose the same sizes
    second = sorted(
        (o.side, o.price, o.quantity) for o in Order.objects.filter(status__in=OPEN_STATUSES)
    )
    assert second == first


def test_bots_requote_around_a_moved_price(lpj_krw, make_user, settle):
    # given the bots' first quotes around 1,000
    sim = simulator()
    sim.step()
    settle(lpj_krw)
    asks = Order.objects.filter(user__is_bot=True, side="sell")
    # when a user buys every ask up to 1,003 (the last trade moves to 1,003)
    buyer = make_user(KRW="10000000")
    order_place(
        user=buyer,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        price=D(1003),
        quantity=sum(o.quantity for o in asks),
        time_in_force="IOC",
    )
    settle(lpj_krw)
    assert Trade.objects.order_by("-sequence").first().price == D(1003)
    # and the bots step twice (at most eight actions per step: 3 cancels + 6 new quotes)
    sim.step()
    settle(lpj_krw)
    sim.step()
    settle(lpj_krw)
    # then the old bids are cancelled and the new quotes sit around 1,003
    assert bot_quotes() == {"buy": {D(1002), D(1001), D(1000)}, "sell": {D(1004), D(1005), D(1006)}}
    assert book() == ([1002, 1001, 1000], [1004, 1005, 1006])
    old_bids = Order.objects.filter(user__is_bot=True, side="buy", price__lt=D(1000))
    assert {o.status for o in old_bids} == {"cancelled"}


def test_a_one_step_move_replaces_one_quote_per_side(lpj_krw, make_user, settle):
    # given the bots' first quotes around 1,000
    sim = simulator()
    sim.step()
    settle(lpj_krw)
    # when a user takes the whole best ask at 1,001 (the price moves one step up)
    best_ask = Order.objects.get(user__is_bot=True, side="sell", price=D(1001))
    order_place(
        user=make_user(KRW="1000000"),
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        price=D(1001),
        quantity=best_ask.quantity,
        time_in_force="IOC",
    )
    settle(lpj_krw)
    report = sim.step()
    settle(lpj_krw)
    # then only the deepest bid goes; a new best bid and a new deepest ask come
    assert (report.cancelled, report.placed) == (1, 2)
    assert book() == ([1000, 999, 998], [1002, 1003, 1004])


@pytest.mark.parametrize(
    ("reference_ticks", "step"),
    [
        (1000, 1),  # LPJ-KRW at 1,000 KRW: 1 KRW
        (6_500_000, 5000),  # BTC-USDT at 65,000.00: 50 USDT, not 65
        (6_545_627, 5000),  # and still 50 after the price wandered
        (3_000_000, 2000),
        (5, 1),
    ],
)
def test_the_quote_grid_step_is_round_and_stable(reference_ticks, step):
    assert grid_step(reference_ticks, 10) == step


def test_a_users_crossing_order_fills_against_a_bot(lpj_krw, make_user, settle):
    # given the bots' quotes
    simulator().step()
    settle(lpj_krw)
    # when a user sells 2 LPJ at the best bid
    seller = make_user(LPJ="10")
    order = order_place(
        user=seller, symbol="LPJ-KRW", side="sell", type="limit", price=D(999), quantity=D(2)
    )
    settle(lpj_krw)
    # then it filled against a bot's bid like anyone's
    order.refresh_from_db()
    assert order.status == "filled"
    maker_fill = Fill.objects.select_related("user").get(liquidity="maker")
    assert maker_fill.user.is_bot
    assert maker_fill.price == D(999)
    assert balance(seller, "LPJ") == (D(8), D(0))
    assert balance(seller, "KRW") == (D(1995), D(0))  # 1998 - 0.15% taker fee, rounded down


def test_bots_are_funded_by_deposits_and_topped_up_when_low(lpj_krw, settle):
    # given bots funded on their first step
    sim = simulator()
    sim.step()
    settle(lpj_krw)
    maker = bots_ensure().makers[0]
    assert sum(balance(maker, "KRW")) == LPJ_PLAN.funds["KRW"]
    # when the maker's available KRW is withdrawn down to 1,000
    available = balance(maker, "KRW")[0]
    wallet_debit(
        account=wallet_account_get(user=maker),
        asset=Asset.objects.get(symbol="KRW"),
        amount=available - 1000,
        reference="test-drain",
    )
    # and the bots' periodic top-up comes round
    sim.steps = 0
    sim.step()
    settle(lpj_krw)
    # then the maker's available KRW is back at its target
    assert balance(maker, "KRW")[0] >= LPJ_PLAN.funds["KRW"] / 2


def test_a_people_account_named_like_a_bot_is_never_used(lpj_krw):
    # given a person who took a bot's name
    user_create(username="bot_taker_1", email="person@example.com", password="a-long-password1")
    # when the bots start, then they refuse to trade with that account
    with pytest.raises(RuntimeError, match="not a bot"):
        simulator().step()


def test_the_command_runs_for_its_seconds_and_exits_cleanly(lpj_krw):
    # given the simulator command for two seconds
    process = start_manage(
        "simulate_market",
        "--seconds",
        "2",
        "--seed",
        "3",
        "--markets",
        "LPJ-KRW",
        "--trade-every",
        "0.5",
    )
    # when it ends
    code = process.wait(timeout=60)
    output = process.stdout.read().decode() if process.stdout else ""
    # then it exited 0 after quoting both sides
    assert code == 0, output
    assert "Demo bots stopped" in output
    assert {o.side for o in Order.objects.filter(user__is_bot=True)} == {"buy", "sell"}


def test_the_command_stops_on_sigterm(lpj_krw):
    # given the simulator running with no time limit
    process = start_manage("simulate_market", "--seed", "3", "--markets", "LPJ-KRW")
    wait_until(
        lambda: Order.objects.filter(user__is_bot=True).count() >= 6,
        timeout=30,
        what="the bots' first quotes",
    )
    # when it gets SIGTERM
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=10)
    # then it finished its step and exited 0
    assert code == 0, stop(process)


def test_a_failing_step_is_logged_and_the_run_goes_on(lpj_krw, monkeypatch, caplog):
    # given a simulator whose first step fails (say the database went away)
    sim = simulator()
    real_step = sim.step
    calls = []

    def flaky_step():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real_step()

    monkeypatch.setattr(sim, "step", flaky_step)
    # when it runs for three quick steps
    totals = simulation_run(simulator=sim, interval_s=0.05, should_stop=lambda: len(calls) >= 3)
    # then the failure was logged and later steps quoted the market
    assert totals.errors == 1
    assert "demo step failed" in caplog.text
    assert totals.placed == 6
