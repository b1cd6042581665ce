"""Fixtures of the rankings tests: two markets (BTC-KRW, and ETH-BTC so that ETH is valued
through BTC), and helpers that write fills and cash flows at chosen times."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from markets.models import TradingPair
from markets.services import TradeInput, pair_create, trades_record
from orders.models import Fill, Order
from wallets.models import Asset, JournalTransaction
from wallets.seed import asset_seed_defaults
from wallets.services import wallet_account_get, wallet_credit, wallet_debit

D = Decimal


@dataclass
class World:
    assets: dict[str, Asset]
    btc_krw: TradingPair
    eth_btc: TradingPair


@pytest.fixture
def world(db) -> World:
    # The rankings' price arrays are indexed by asset id, which is small on an exchange. In a
    # test session the sequence grows with every test that seeds assets and rolls back (about
    # 3,700 by the time these tests run in CI), and the hypothesis test took 143 s there
    # against 69 s alone. The ids start again after the highest committed one.
    table = Asset._meta.db_table
    reset = (
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 - a model's table
        f" COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
    )
    with connection.cursor() as cursor:
        cursor.execute(reset)
    assets = {a.symbol: a for a in asset_seed_defaults()}
    btc_krw = pair_create(
        base=assets["BTC"],
        quote=assets["KRW"],
        tick_size=D(10000),
        lot_size=D("0.0001"),
        actor=None,
    )
    eth_btc = pair_create(
        base=assets["ETH"],
        quote=assets["BTC"],
        tick_size=D("0.0001"),
        lot_size=D("0.0001"),
        actor=None,
    )
    return World(assets=assets, btc_krw=btc_krw, eth_btc=eth_btc)


_seq = itertools.count(1)


def fill_make(
    user: User,
    pair: TradingPair,
    side: str,
    price: Decimal | str,
    quantity: Decimal | str,
    at: datetime,
    fee: Decimal | str = "0",
) -> Fill:
    """One fill of ``user`` (fee in the quote) and its public trade, as settlement writes them;
    no ledger entries (rankings read holdings from fills)."""
    price, quantity = D(price), D(quantity)
    seq = next(_seq)
    order = Order.objects.create(
        user=user,
        pair=pair,
        side=side,
        type="limit",
        price=price,
        quantity=quantity,
        filled_quantity=quantity,
        filled_quote=price * quantity,
        status="filled",
    )
    # the market's public trade, which rolls the hourly candle that prices the assets
    trades_record(
        pair=pair,
        trades=[
            TradeInput(sequence=seq, price=price, quantity=quantity, taker_side=side, created_at=at)
        ],
    )
    return Fill.objects.create(
        order=order,
        user=user,
        pair=pair,
        engine_seq=seq,
        side=side,
        price=price,
        quantity=quantity,
        quote_quantity=price * quantity,
        fee=D(fee),
        fee_asset=pair.quote,
        liquidity="taker",
        created_at=at,
    )


def flow_make(user: User, asset: Asset, amount: Decimal | str, at: datetime) -> None:
    """A deposit (amount > 0) or withdrawal (< 0) through the ledger, dated ``at``."""
    amount = D(amount)
    account = wallet_account_get(user=user)
    if amount > 0:
        journal = wallet_credit(account=account, asset=asset, amount=amount, reference="deposit:t")
    else:
        journal = wallet_debit(
            account=account, asset=asset, amount=-amount, reference="withdrawal:t"
        )
    JournalTransaction.objects.filter(pk=journal.pk).update(created_at=at)


@pytest.fixture
def trader() -> Callable[..., User]:
    def make(handle: str, *, opt_in: bool = True, is_bot: bool = False) -> User:
        return UserFactory.create(
            username=handle, handle=handle, rankings_opt_in=opt_in, is_bot=is_bot
        )

    return make


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
