"""Fixtures for the trade loop: a market, funded users, and synchronous settlement."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import count

import pytest

from accounts.models import User
from accounts.services import user_create
from markets.models import TradingPair
from markets.services import pair_create
from settlement.services import settle_market, settlement_group_ensure
from tradehive.redis_client import get_redis
from wallets.models import Asset
from wallets.seed import asset_seed_defaults
from wallets.selectors import balance_get
from wallets.services import wallet_account_get, wallet_credit
from wallets.verification import ledger_verify

_names = count(1)


@pytest.fixture
def engine_redis(redis_client):
    """A clean Redis database for the engine (flushed before and after)."""
    return redis_client


@pytest.fixture
def lpj_krw(engine_redis) -> TradingPair:
    """A book-priced market: tick 1 KRW, lot 1 LPJ, min notional 1,000 KRW, fees 0.1%/0.2%."""
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=Decimal(1),
        lot_size=Decimal(1),
        min_notional=Decimal(1000),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.002"),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


@pytest.fixture
def make_user() -> Callable[..., User]:
    """A user funded by deposits: ``make_user(KRW="100000", LPJ="50")``."""

    def make(**funds: str) -> User:
        n = next(_names)
        user = user_create(
            username=f"trader{n}", email=f"trader{n}@example.com", password="a-long-test-password"
        )
        account = wallet_account_get(user=user)
        for symbol, amount in funds.items():
            wallet_credit(
                account=account,
                asset=Asset.objects.get(symbol=symbol),
                amount=Decimal(amount),
                reference=f"test-deposit:{user.pk}",
            )
        return user

    return make


def balance(user: User, symbol: str) -> tuple[Decimal, Decimal]:
    """(available, locked) of ``user`` in ``symbol``."""
    row = balance_get(account=wallet_account_get(user=user), asset=Asset.objects.get(symbol=symbol))
    return row.available, row.locked


@pytest.fixture
def settle() -> Callable[[TradingPair], int]:
    """Settle every pending event of a market now (what the ``settle`` process does)."""

    def run(pair: TradingPair) -> int:
        applied = 0
        while True:
            outcome = settle_market(pair=pair, consumer="test")
            if not outcome.applied:
                return applied
            applied += outcome.applied

    return run


@pytest.fixture
def ledger_clean() -> Iterator[None]:
    """Every test in this package ends with the ledger's invariants holding."""
    yield
    problems = ledger_verify()
    assert problems == [], [str(p) for p in problems]
