"""The living demo: the demo bots trade through the real engine and settlement, and the
leaderboard ranks them (labelled as bots) after a refresh."""

from __future__ import annotations

from decimal import Decimal

import pytest

from markets.models import TradingPair
from markets.services import pair_create
from orders.simulation import DEFAULT_PLANS, STYLED_TRADERS, MarketSimulator
from rankings.models import LeaderboardPage
from rankings.services import rankings_refresh
from settlement.services import settle_market, settlement_group_ensure
from tradehive.redis_client import get_redis
from wallets.seed import asset_seed_defaults

pytestmark = pytest.mark.django_db(transaction=True)

LPJ_PLAN = next(plan for plan in DEFAULT_PLANS if plan.symbol == "LPJ-KRW")


@pytest.fixture
def lpj_krw(redis_client) -> TradingPair:
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=Decimal(1),
        lot_size=Decimal(1),
        min_notional=Decimal(1000),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


def settle(pair: TradingPair) -> None:
    while settle_market(pair=pair, consumer="test").applied:
        pass


def test_the_demo_bots_show_on_the_leaderboard(lpj_krw, api_client):
    # given the demo bots trading a dozen steps, settlement keeping up
    sim = MarketSimulator(plans=(LPJ_PLAN,), seed=11, trade_every_s=0.0)
    for _ in range(12):
        sim.step()
        settle(lpj_krw)
    # when the rankings refresh
    rankings_refresh()
    # then every bot that traded is ranked for the day, labelled as a bot
    ranked = LeaderboardPage.objects.filter(period="day", ranking="rank_return")
    assert sum(len(page.user_ids) for page in ranked) >= 3
    body = api_client.get("/api/v1/rankings?period=day").json()
    handles = {row["trader"] for row in body["results"]}
    assert "bot_taker_1" in handles
    assert handles & set(STYLED_TRADERS)
    assert all(row["is_bot"] for row in body["results"])
    # and humans-only leaves nobody (there are only bots)
    assert api_client.get("/api/v1/rankings?period=day&bots=exclude").json()["results"] == []
