"""Fixtures of the markets tests: the default assets and a plain market on them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from accounts.models import User
from markets import ticker
from markets.models import TradingPair
from markets.services import pair_create
from wallets.models import Asset
from wallets.seed import asset_seed_defaults


@pytest.fixture
def assets(db) -> dict[str, Asset]:
    return {a.symbol: a for a in asset_seed_defaults()}


@pytest.fixture
def btc_krw(assets) -> TradingPair:
    """BTC-KRW with lot 0.0001 BTC and tick 10,000 KRW (tick x lot = 1 KRW, a whole won).

    Market-data tests record trades directly, so their hand-picked prices need not sit on the
    tick grid; only the displayed decimals (0 for KRW, 4 for quantities) matter."""
    return pair_create(
        base=assets["BTC"],
        quote=assets["KRW"],
        tick_size=Decimal(10000),
        lot_size=Decimal("0.0001"),
        min_notional=Decimal(5000),
        actor=None,
    )


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(
        username="ops", email="ops@example.com", password="a-long-password-1", handle="ops"
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def _no_book_top_provider() -> Iterator[None]:
    """These tests set their own provider (or none); the settlement app's comes back after."""
    registered = ticker._book_top_provider
    ticker.set_book_top_provider(None)
    yield
    ticker.set_book_top_provider(registered)
