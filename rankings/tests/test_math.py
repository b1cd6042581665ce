"""Return math on hand-computed histories (docs/rankings.md has the first one worked out).

BTC-KRW trades at 50M (D-3), 40M (D-2), 60M (D-1) and 66M (today 12:00); ETH-BTC at 0.05
(D-1) and 0.06 (today). Now is today 12:30, so "day" starts at the end of D-1 12:00."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db import connection

from accounts.models import User
from accounts.services import user_rankings_opt_in_set
from markets.services import TradeInput, trades_record
from rankings.models import LeaderboardPage, LeaderboardRow, Snapshot, TraderMark
from rankings.selectors import Figures, leaderboard_page, trader_profile
from rankings.services import rankings_rebuild, rankings_refresh
from rankings.tests.conftest import NOW, fill_make

D = Decimal


def row(user, period: str) -> Figures:
    """The trader's figures in the period as the profile shows them (computed at read time
    from the stored row, the trader's mark and the last refresh's prices)."""
    found = trader_profile(user=user, now=NOW).periods[period]
    assert found is not None
    return found


def ranked(period: str, sort: str) -> list[int]:
    page = leaderboard_page(period=period, sort=sort, bots_excluded=False, after_rank=0, limit=50)
    return [r.user_id for r in page.rows]


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
    assert day.eligible
    assert day.trades == 1
    snaps = list(Snapshot.objects.filter(user_id=history["alice"].pk).order_by("hour"))
    # the open hour's snapshot at its opening prices (BTC 60M): 1,733,400 KRW + 0.0111 BTC
    assert [s.equity for s in snaps] == [D(1000000), D(1200000), D(2400000), D(2399400)]
    assert [s.flow for s in snaps] == [D(1000000), D(0), D(1200000), D(0)]
    # units: 1M at 1.0, then 1M more bought at 1.2 per unit
    assert snaps[2].units.quantize(D("0.001")) == D("2000000.000")
    # once the hour has closed, at its close (BTC 66M), and the return is the same
    rankings_refresh(now=NOW + timedelta(hours=1))
    closed = Snapshot.objects.get(user_id=history["alice"].pk, hour=snaps[3].hour)
    assert closed.equity == D(2466000)


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
    assert not day.eligible
    assert day.rank_return is None


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
    expected = [history[name].pk for name in ("erin", "alice", "carol")]
    assert ranked("all", "return") == expected
    assert ranked("all", "pnl") == expected
    # and each profile finds its ranks
    assert [row(history[name], "all").rank_return for name in ("erin", "alice", "carol")] == [
        1,
        2,
        3,
    ]
    assert row(history["carol"], "all").rank_pnl == 3


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


def test_the_rebuild_command_rebuilds(history):
    # given
    out = io.StringIO()
    # when
    call_command("rebuild_rankings", stdout=out)
    # then
    assert "rankings rebuilt" in out.getvalue()
    assert LeaderboardRow.objects.filter(user_id=history["erin"].pk, period="all").exists()


def _row_versions() -> set[tuple[str, int, str]]:
    """(table, row id, xmin) of every leaderboard row, trader mark and page: a rewritten row
    gets a new xmin."""
    versions = set()
    with connection.cursor() as cursor:
        for model in (LeaderboardRow, TraderMark, LeaderboardPage):
            table = model._meta.db_table
            cursor.execute(f"SELECT id, xmin::text FROM {table}")  # noqa: S608
            versions |= {(table, int(row_id), xmin) for row_id, xmin in cursor.fetchall()}
    return versions


def test_a_refresh_with_nothing_new_keeps_the_leaderboards(history):
    # given: rolled up, then a refresh later in the same hour with nothing new
    rankings_refresh(now=NOW)
    before = _row_versions()
    # when
    rankings_refresh(now=NOW + timedelta(minutes=1))
    # then: the rows were not written again, and they are what a rebuild gives
    assert _row_versions() == before
    kept = list(LeaderboardRow.objects.values().order_by("period", "user_id"))
    rankings_rebuild(now=NOW + timedelta(minutes=1))
    rebuilt = list(LeaderboardRow.objects.values().order_by("period", "user_id"))
    assert [{k: v for k, v in r.items() if k != "id"} for r in kept] == [
        {k: v for k, v in r.items() if k != "id"} for r in rebuilt
    ]


def test_an_opt_out_leaves_at_a_refresh_with_nothing_else_new(history):
    # given
    rankings_refresh(now=NOW)
    assert LeaderboardRow.objects.filter(user_id=history["carol"].pk).exists()
    # when: nothing traded or moved since, in the same hour
    user_rankings_opt_in_set(user=history["carol"], opt_in=False)
    rankings_refresh(now=NOW + timedelta(minutes=1))
    # then
    assert not LeaderboardRow.objects.filter(user_id=history["carol"].pk).exists()
    assert LeaderboardRow.objects.filter(user_id=history["alice"].pk).count() == 4


def _page_versions() -> set[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {LeaderboardPage._meta.db_table}")  # noqa: S608
        return {(int(page_id), xmin) for page_id, xmin in cursor.fetchall()}


def _versions_of(model, user_id: int) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmin::text FROM {model._meta.db_table} WHERE user_id = %s",  # noqa: S608
            [user_id],
        )
        return {xmin for (xmin,) in cursor.fetchall()}


def test_a_price_move_rewrites_only_the_pages_and_the_figures_follow(history, world):
    # given: rolled up; carol did not trade in the current hour
    rankings_refresh(now=NOW)
    carol = history["carol"]
    rows_before = _versions_of(LeaderboardRow, carol.pk)
    mark_before = _versions_of(TraderMark, carol.pk)
    return_before = row(carol, "all").return_pct
    # when: BTC-KRW trades higher in the current hour (someone not ranked), and a refresh
    market = User.objects.get(handle="market")
    fill_make(market, world.btc_krw, "sell", "72000000", "0.0001", NOW - timedelta(minutes=10))
    rankings_refresh(now=NOW + timedelta(minutes=1))
    # then: her stored row and mark were not written again, yet her figures moved with BTC
    assert _versions_of(LeaderboardRow, carol.pk) == rows_before
    assert _versions_of(TraderMark, carol.pk) == mark_before
    moved = row(carol, "all")
    assert moved.return_pct > return_before
    # her 0.006 BTC at 72M instead of 66M: 836,000 + 0.006 x 6M
    assert moved.equity == D("836000") + D("0.006") * D("6000000")
    # and every figure and rank is what a rebuild gives
    shown = {name: row(history[name], "all") for name in history}
    rankings_rebuild(now=NOW + timedelta(minutes=1))
    assert {name: row(history[name], "all") for name in history} == shown


def test_a_price_move_in_the_open_hour_rewrites_nothing_of_its_traders(history, world):
    # given: rolled up; alice bought BTC in the open hour (12:05)
    rankings_refresh(now=NOW)
    alice = history["alice"]
    before = {
        model: _versions_of(model, alice.pk) for model in (Snapshot, TraderMark, LeaderboardRow)
    }
    pages_before = _page_versions()
    return_before = row(alice, "day").return_pct
    # when: BTC-KRW trades at 72M later in the hour, between traders who are not ranked (no
    # fill of anyone ranked, as a feed-priced market's move), and a refresh
    trades_record(
        pair=world.btc_krw,
        trades=[
            TradeInput(
                sequence=900_001,
                price=D("72000000"),
                quantity=D("0.0001"),
                taker_side="buy",
                created_at=NOW - timedelta(minutes=5),
            )
        ],
    )
    rankings_refresh(now=NOW + timedelta(minutes=1))
    # then: her snapshot, mark and rows were not written again (the open hour is marked at
    # its opening prices), yet her figures follow BTC through her end point
    assert {model: _versions_of(model, alice.pk) for model in before} == before
    # and everyone was ranked again at the moved prices (nothing else changed)
    assert _page_versions().isdisjoint(pages_before)
    moved = row(alice, "day")
    assert moved.equity == D("2466000") + D("0.0111") * D("6000000")
    assert moved.return_pct > return_before
    # and every figure and rank is what a rebuild gives
    shown = {name: row(history[name], period) for name in history for period in ("day", "all")}
    rankings_rebuild(now=NOW + timedelta(minutes=1))
    assert {name: row(history[name], period) for name in history for period in ("day", "all")} == (
        shown
    )
