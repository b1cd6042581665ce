"""The incremental refresh equals a full rebuild, on random histories (hypothesis).

A clock moves the way the beat job sees time: refreshes in the same hour, the next hour, after
skipped hours, or at a random (even earlier) moment. Events arrive in random order: a fill may
be dated long before what was already rolled up (a late settlement), or in the clock's current
or previous hour (what a refresh usually finds); traders opt in and out. After every refresh, a
rebuild at the same instant must leave identical rows in every rankings table, so each path of
the refresh (a trader's past changed, a period start passing a snapshot, the previous hour
joining the closed hours, a new trader) is checked against the rebuild on its own."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from accounts.services import user_rankings_opt_in_set
from rankings.models import (
    RANKS_PER_PAGE,
    AssetPrice,
    LeaderboardPage,
    LeaderboardRow,
    PeriodState,
    Snapshot,
    TraderMark,
)
from rankings.selectors import trader_profile
from rankings.services import rankings_rebuild, rankings_refresh
from rankings.tests.conftest import fill_make, flow_make
from wallets.errors import InsufficientFunds

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 24 * 40  # longer than a month, so every period has a start point
END = START + timedelta(hours=HOURS)

# An hour: absolute (a late settlement), or relative to the clock (the last refresh's hour):
# mostly that hour, sometimes the one before or one a period's start is about to pass.
relative = st.sampled_from([0, 0, 0, 0, -1, -23, -24, -167, -719]).map(str)
when = st.one_of(relative, relative, relative, st.integers(0, HOURS - 1))

fill = st.tuples(
    st.just("fill"),
    when,
    st.integers(0, 5),  # user
    st.sampled_from(["btc_krw", "eth_btc"]),
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 30),  # price, in steps
    st.integers(1, 50),  # quantity, in lots
    st.booleans(),  # pays a fee
)
flow = st.tuples(
    st.just("flow"),
    when,
    st.integers(0, 5),
    st.sampled_from(["KRW", "ETH"]),
    st.integers(-20, 40),  # amount: negative is a withdrawal
)
# the next refresh: the same hour, the next, two or 30 hours on, or anywhere; compared with a
# rebuild or not (then the next refreshes build on its result)
refresh = st.tuples(
    st.just("refresh"),
    st.one_of(
        st.sampled_from(["+0", "+1", "+1", "+1", "+1", "+2", "+30"]),
        st.integers(0, HOURS - 1),
    ),
    st.booleans(),
)
opt = st.tuples(st.just("opt"), st.integers(0, 5), st.booleans())
event = st.one_of(fill, fill, fill, flow, refresh, refresh, refresh, opt)


def _tables() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for model, key in (
        (AssetPrice, ("asset_id", "hour")),
        (Snapshot, ("user_id", "hour")),
        (PeriodState, ("period", "user_id")),
        (LeaderboardRow, ("period", "user_id")),
        (TraderMark, ("user_id",)),
        (LeaderboardPage, ("period", "ranking", "chunk")),
    ):
        rows = model.objects.order_by(*key).values()
        out[model.__name__] = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    return out


class Clock:
    def __init__(self, hour: int) -> None:
        self.hour = hour

    def moment(self, spec: int | str, minute: int) -> datetime:
        hour = self.hour + int(spec) if isinstance(spec, str) else spec
        return START + timedelta(hours=min(max(hour, 0), HOURS - 1), minutes=minute)


def _profile_ranks_match_the_pages(now: datetime) -> None:
    """Each profile finds its ranks from its own keys (computed at read time) in the pages:
    they must be its places in the pages' order (ties included: equal returns are common)."""
    places = {}
    for page in LeaderboardPage.objects.filter(ranking__in=["rank_return", "rank_pnl"]):
        for i, user_id in enumerate(page.user_ids):
            places[(page.period, page.ranking, user_id)] = page.chunk * RANKS_PER_PAGE + i + 1
    for user in User.objects.filter(pk__in=TraderMark.objects.values("user_id")):
        for period, figures in trader_profile(user=user, now=now).periods.items():
            if figures is None:
                continue
            assert figures.rank_return == places.get((period, "rank_return", user.pk))
            assert figures.rank_pnl == places.get((period, "rank_pnl", user.pk))
            assert figures.eligible == (figures.rank_return is not None)


def _refresh_equals_rebuild(now: datetime) -> None:
    rankings_refresh(now=now)
    incremental = _tables()
    _profile_ranks_match_the_pages(now)
    rankings_rebuild(now=now)
    assert incremental == _tables(), f"refresh at {now:%m-%d %H:%M} differs from the rebuild"


def _apply(world, users, clock: Clock, item: tuple) -> None:
    kind = item[0]
    if kind == "refresh":
        _, spec, check = item
        if isinstance(spec, str):
            clock.hour = min(clock.hour + int(spec), HOURS - 1)
        else:
            clock.hour = spec
        if check:
            _refresh_equals_rebuild(clock.moment("0", 37))
        else:
            rankings_refresh(now=clock.moment("0", 37))
    elif kind == "opt":
        _, who, opt_in = item
        user_rankings_opt_in_set(user=users[who], opt_in=opt_in)
    elif kind == "fill":
        _, spec, who, market, side, steps, lots, fee = item
        if market == "btc_krw":
            pair, price, qty = world.btc_krw, D(10000) * (4000 + 100 * steps), D("0.0001") * lots
        else:
            pair, price, qty = world.eth_btc, D("0.0001") * (300 + 10 * steps), D("0.01") * lots
        quote = price * qty
        fee_amount = (quote * D("0.001")).quantize(D("1e-8")) if fee else D(0)
        if pair.quote.symbol == "KRW":
            fee_amount = fee_amount.quantize(D(1))
        fill_make(users[who], pair, side, price, qty, clock.moment(spec, 7), fee=fee_amount)
    else:
        _, spec, who, symbol, amount = item
        if amount == 0:
            return
        scale = D(10000) if symbol == "KRW" else D("0.1")
        with contextlib.suppress(InsufficientFunds):
            flow_make(users[who], world.assets[symbol], scale * amount, clock.moment(spec, 7))


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.integers(0, HOURS - 1), events=st.lists(event, min_size=10, max_size=80))
def test_incremental_refresh_equals_full_rebuild(world, trader, start, events):
    with transaction.atomic():
        # given: six traders (one a bot, one not opted in) and a random history, with a
        # refresh compared to a rebuild wherever the history has one
        users = [trader(f"hyp{i}_{id(events)}", opt_in=i != 3, is_bot=i == 2) for i in range(6)]
        for user in users:
            flow_make(user, world.assets["KRW"], D(1000000), START)
            flow_make(user, world.assets["BTC"], D("0.1"), START)
        clock = Clock(start)
        for item in events:
            _apply(world, users, clock, item)
        # when / then: a last refresh after everything
        _refresh_equals_rebuild(END)
        transaction.set_rollback(True)


def test_hourly_refreshes_over_days_equal_rebuilds(world, trader):
    """What the beat job does: a refresh every hour for more than three days, with the price
    swinging, so every hour the previous one joins the closed hours, the day period's start
    passes a snapshot, days close up or flat, and once a late fill and an opt-out arrive."""
    # given: a market that moves every hour, and three styles of trader
    krw, btc_krw = world.assets["KRW"], world.btc_krw
    market = trader("walk_market", opt_in=False)
    active, holder, flat = trader("walk_active"), trader("walk_holder"), trader("walk_flat")
    for user in (active, holder, flat):
        flow_make(user, krw, D(100_000_000), START)
    hours = 80
    for hour in range(hours):
        at = START + timedelta(hours=hour, minutes=5)
        price = D(10000) * (5000 + int(500 * math.sin(hour / 5)))
        fill_make(market, btc_krw, "sell", price, "0.0001", at)
        side = "buy" if hour % 4 < 2 else "sell"
        fill_make(active, btc_krw, side, price, "0.01", at, fee=D(100))
        if hour % 3 == 0:
            fill_make(holder, btc_krw, "buy", price, "0.02", at)
        if hour % 5 == 0:  # a round trip at one price: the unit value does not move
            fill_make(flat, btc_krw, "buy", price, "0.01", at)
            fill_make(flat, btc_krw, "sell", price, "0.01", at)
        if hour == 50:  # settled late, dated twenty hours back
            fill_make(holder, btc_krw, "sell", D(49000000), "0.01", at - timedelta(hours=20))
        if hour == 60:
            user_rankings_opt_in_set(user=flat, opt_in=False)
        if hour == 63:
            user_rankings_opt_in_set(user=flat, opt_in=True)
        now = at + timedelta(minutes=30)
        # when / then
        if hour % 7 == 6 or hour == hours - 1:
            _refresh_equals_rebuild(now)
        else:
            rankings_refresh(now=now)
