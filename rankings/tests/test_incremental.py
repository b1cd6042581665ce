"""The incremental refresh equals a full rebuild, on random histories (hypothesis).

Events arrive in random order (a fill may be dated before one already rolled up, as a late
settlement would), refreshes happen at random moments in between, then a last refresh and a
rebuild at the same instant must leave identical rows in every rankings table."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankings.models import AssetPrice, HoldingBucket, LeaderboardRow, Snapshot
from rankings.services import rankings_rebuild, rankings_refresh
from rankings.tests.conftest import fill_make, flow_make
from wallets.errors import InsufficientFunds

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 24 * 40  # longer than a month, so every period has a start point
END = START + timedelta(hours=HOURS)

event = st.one_of(
    st.tuples(
        st.just("fill"),
        st.integers(0, HOURS - 1),
        st.integers(0, 3),  # user
        st.sampled_from(["btc_krw", "eth_btc"]),
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 30),  # price, in steps
        st.integers(1, 50),  # quantity, in lots
        st.booleans(),  # pays a fee
    ),
    st.tuples(
        st.just("flow"),
        st.integers(0, HOURS - 1),
        st.integers(0, 3),
        st.sampled_from(["KRW", "ETH"]),
        st.integers(-20, 40),  # amount: negative is a withdrawal
    ),
    st.tuples(st.just("refresh"), st.integers(0, HOURS - 1)),
)


def _tables() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for model, key in (
        (HoldingBucket, ("user_id", "asset_id", "hour")),
        (AssetPrice, ("asset_id", "hour")),
        (Snapshot, ("user_id", "hour")),
        (LeaderboardRow, ("period", "user_id")),
    ):
        rows = model.objects.order_by(*key).values()
        out[model.__name__] = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    return out


def _apply(world, users, item: tuple) -> None:
    kind, hour = item[0], item[1]
    moment = START + timedelta(hours=hour, minutes=7)
    if kind == "refresh":
        rankings_refresh(now=moment)
    elif kind == "fill":
        _, _, who, market, side, steps, lots, fee = item
        if market == "btc_krw":
            pair, price, qty = world.btc_krw, D(10000) * (4000 + 100 * steps), D("0.0001") * lots
        else:
            pair, price, qty = world.eth_btc, D("0.0001") * (300 + 10 * steps), D("0.01") * lots
        quote = price * qty
        fee_amount = (quote * D("0.001")).quantize(D("1e-8")) if fee else D(0)
        if pair.quote.symbol == "KRW":
            fee_amount = fee_amount.quantize(D(1))
        fill_make(users[who], pair, side, price, qty, moment, fee=fee_amount)
    else:
        _, _, who, symbol, amount = item
        if amount == 0:
            return
        scale = D(10000) if symbol == "KRW" else D("0.1")
        with contextlib.suppress(InsufficientFunds):
            flow_make(users[who], world.assets[symbol], scale * amount, moment)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(event, min_size=1, max_size=40))
def test_incremental_refresh_equals_full_rebuild(world, trader, events):
    with transaction.atomic():
        # given: four traders (one a bot, one not opted in) and a random history
        users = [trader(f"hyp{i}_{id(events)}", opt_in=i != 3, is_bot=i == 2) for i in range(4)]
        for item in events:
            _apply(world, users, item)
        # when
        rankings_refresh(now=END)
        incremental = _tables()
        rankings_rebuild(now=END)
        rebuilt = _tables()
        # then
        assert incremental == rebuilt
        transaction.set_rollback(True)
