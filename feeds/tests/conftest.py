"""Fixtures of the feed tests: a sim-priced market with a funded house, observations written
through the real poll path, and one matching pass (what beat's tasks do, run inline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from feeds.house import house_fund
from feeds.matching import MatchOutcome, feed_match_pass
from feeds.polling import observations_record
from feeds.polling import source_cache_clear as _source_cache_clear
from feeds.selectors import feed_market_cache_clear
from feeds.sources import FeedMarket, Quote
from markets.models import TradingPair
from markets.services import pair_create

# Fixtures shared with the trade-loop tests.
from orders.tests.conftest import ledger_clean, make_user, settle  # noqa: F401
from settlement.recovery import engine_recover
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from wallets.seed import asset_seed_defaults

HOUSE_XRP = Decimal(1_000_000)
HOUSE_KRW = Decimal(1_000_000_000)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    feed_market_cache_clear()
    _source_cache_clear()
    yield
    feed_market_cache_clear()
    _source_cache_clear()


@pytest.fixture
def xrp_krw(redis_client: object) -> TradingPair:
    """A sim-priced market: tick 1 KRW, lot 1 XRP, min notional 100 KRW, fees 0.1%/0.2%;
    the house holds 1,000,000 XRP and 1,000,000,000 KRW; the engine state exists."""
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["XRP"],
        quote=assets["KRW"],
        tick_size=Decimal(1),
        lot_size=Decimal(1),
        min_notional=Decimal(100),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.002"),
        price_source="sim",
        actor=None,
    )
    house_fund(amounts={"XRP": HOUSE_XRP, "KRW": HOUSE_KRW})
    settlement_group_ensure(get_redis(), pair.symbol)
    engine_recover(pair=pair)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


@pytest.fixture
def observe() -> Callable[..., None]:
    """``observe(pair, "99", "101")``: append observations, as a poll of the pair's source."""

    def run(pair: TradingPair, *prices: str) -> None:
        market = FeedMarket(
            symbol=pair.symbol,
            base=pair.base.symbol,
            quote=pair.quote.symbol,
            tick_size=pair.tick_size,
        )
        for price in prices:
            observations_record(
                markets=[market],
                quotes={pair.symbol: Quote(price=Decimal(price), source_ts_ms=None)},
            )

    return run


@pytest.fixture
def match_pass() -> Callable[[], MatchOutcome]:
    """One matching pass over every feed-priced market."""
    return lambda: feed_match_pass()
