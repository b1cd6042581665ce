"""Return math on hand-computed histories (docs/rankings.md has the first one worked out).

BTC-KRW trades at 50M (D-3), 40M (D-2), 60M (D-1) and 66M (today 12:00); ETH-BTC at 0.05
(D-1) and 0.06 (today). Now is today 12:30, so "day" starts at the end of D-1 12:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from rankings.models import LeaderboardRow, Snapshot
from rankings.services import rankings_rebuild, rankings_refresh
from rankings.tests.conftest import fill_make, flow_make

D = Decimal
TODAY = datetime(2026, 11, 20, tzinfo=UTC)
NOW = TODAY + timedelta(hours=12, minutes=30)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return TODAY + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def history(world, trader):
    krw, eth = world.assets["KRW"], world.assets["ETH"]
    btc_krw, eth_btc = world.btc_krw, world.eth_btc
    market = UserFactory(username="market", handle="market")  # sets prices; not opted in
    for day, price in ((-3, "50000000"), (-2, "40000000"), (-1, "60000000"), (0, "66000000")):
        fill_make(market, btc_krw, "sell", price, "0.0001", at(day, 12 if day == 0 else 10))
    fill_make(market, eth_btc, "sell", "0.05", "0.0001", at(-1, 10))

    # alice: a deposit in the middle of the week.
    alice = trader("alice")
    flow_make(alice, krw, "1000000", at(-2, 10))
    fill_make(alice, btc_krw, "buy", "40000000", "0.01", at(-2, 10, 5))
    fill_make(alice, btc_krw, "buy", "60000000", "0.001", at(-1, 10, 5))
    flow_make(alice, krw, "1200000", at(-1, 11))
    fill_make(alice, btc_krw, "buy", "66000000", "0.0001", at(0, 12, 5))

    # carol: a losing day, then a withdrawal.
    carol = trader("carol")
    flow_make(carol, krw, "1000000", at(-3, 10))
    fill_make(carol, btc_krw, "buy", "50000000", "0.01", at(-3, 10, 5))
    fill_make(carol, btc_krw, "sell", "40000000", "0.005", at(-2, 10, 5))
    flow_make(carol, krw, "-200000", at(-2, 11))
    fill_make(carol, btc_krw, "buy", "60000000", "0.001", at(-1, 10, 5))

    # erin: holds ETH, which has no KRW market: valued as ETH-BTC x BTC-KRW.
    erin = trader("erin")
    flow_make(erin, eth, "10", at(-1, 10, 30))
    fill_make(erin, eth_btc, "sell", "0.06", "1", at(0, 12, 5))
    return {"alice": alice, "carol": carol, "erin": erin}


def row(user, period: str) -> LeaderboardRow:
    return LeaderboardRow.objects.get(user_id=user.pk, period=period)


def test_a_deposit_mid_period_changes_units_not_the_return(history):
    # when
    rankings_rebuild(now=NOW)
    # then: 1.2 (BTC 40M -> 60M on 0.01 BTC of 1M) x 1.0275 (60M -> 66M on 0.011 BTC of 2.4M)
    week = row(history["alice"], "week")
    assert week.return_pct == D("23.3000")
    assert week.pnl == D("266000")
    day = row(history["alice"], "day")
    assert day.return_pct == D("2.7500")
    assert day.pnl == D("66000")
    assert day.eligible and day.trades == 1
    snaps = list(Snapshot.objects.filter(user_id=history["alice"].pk).order_by("hour"))
    assert [s.equity for s in snaps] == [D(1000000), D(1200000), D(2400000), D(2466000)]
    assert [s.flow for s in snaps] == [D(1000000), D(0), D(1200000), D(0)]
    # units: 1M at 1.0, then 1M more bought at 1.2 per unit
    assert snaps[2].units.quantize(D("0.001")) == D("2000000.000")


def test_a_losing_day_and_a_withdrawal(history):
    # when
    rankings_rebuild(now=NOW)
    # then: 0.9 (losing day) x 1 (withdrawal) x 8/7 x 1.045 - 1
    carol = row(history["carol"], "all")
    expected = (D("0.9") * D(8) / D(7) * D("1.045") - 1) * 100
    assert carol.return_pct == expected.quantize(D("0.0001"))
    assert carol.pnl == D("36000")  # 836,000 now - (1,000,000 in - 200,000 out)
    assert carol.max_drawdown_pct == D("10.00")
    assert carol.win_rate == D("33.33")  # D-3 flat, D-2 lost, D-1 won
    assert carol.trades == 3
    # no trade today: not eligible for the day, so not ranked in it
    day = row(history["carol"], "day")
    assert not day.eligible and day.rank_return is None


def test_an_asset_valued_through_another_market(history):
    # when
    rankings_rebuild(now=NOW)
    # then: ETH = ETH-BTC x BTC-KRW: 0.05 x 60M = 3M, then 0.06 x 66M = 3.96M
    erin = row(history["erin"], "all")
    assert erin.return_pct == D("32.0000")
    assert erin.pnl == D("9600000")
    assert erin.equity == D("39600000")


def test_ranks_order_by_return_and_by_pnl(history):
    # when
    rankings_rebuild(now=NOW)
    # then
    by_return = LeaderboardRow.objects.filter(period="all", eligible=True).order_by("rank_return")
    assert [r.user_id for r in by_return] == [
        history[name].pk for name in ("erin", "alice", "carol")
    ]
    by_pnl = LeaderboardRow.objects.filter(period="all", eligible=True).order_by("rank_pnl")
    assert [r.user_id for r in by_pnl] == [history[n].pk for n in ("erin", "alice", "carol")]


def test_a_refresh_after_every_event_equals_the_rebuild(history):
    # given: the whole history rolled up by one refresh
    rankings_refresh(now=NOW)
    incremental = list(LeaderboardRow.objects.values().order_by("period", "user_id"))
    # when
    rankings_rebuild(now=NOW)
    # then
    rebuilt = list(LeaderboardRow.objects.values().order_by("period", "user_id"))
    strip = [{k: v for k, v in r.items() if k != "id"} for r in incremental]
    assert strip == [{k: v for k, v in r.items() if k != "id"} for r in rebuilt]
