"""The portfolio's numbers, worked out by hand: value at the last prices (through another market
when there is no direct one), allocation, profit and loss since a date with deposits taken out,
and the ledger told as deposits, trades and fees with holds folded away."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from markets.models import TradingPair
from markets.services import TradeInput, pair_create, trades_record
from orders.services import order_place
from portfolio.selectors import activity_list, portfolio_get, portfolio_pnl
from wallets.deposits import deposit_create
from wallets.models import Asset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal
_seq = iter(range(10_000_000, 20_000_000))


def rounded(value: Decimal | None, places: int) -> Decimal:
    assert value is not None
    return round(value, places)


def trade_at(pair: TradingPair, price: str, when=None) -> None:
    """A public trade (another pair of users) that sets the market's last price."""
    with transaction.atomic():
        trades_record(
            pair=pair,
            trades=[
                TradeInput(
                    sequence=next(_seq),
                    price=D(price),
                    quantity=pair.lot_size,
                    taker_side="buy",
                    created_at=when or timezone.now(),
                )
            ],
        )


@pytest.fixture
def usdt_path(lpj_krw):
    """BTC-KRW at 100,000,000 and BTC-USDT at 70,000: USDT is worth 1,428.57... KRW."""
    assets = {a.symbol: a for a in Asset.objects.all()}
    btc_krw = pair_create(
        base=assets["BTC"],
        quote=assets["KRW"],
        tick_size=D(10000),
        lot_size=D("0.0001"),
        min_notional=D(5000),
        actor=None,
    )
    btc_usdt = pair_create(
        base=assets["BTC"],
        quote=assets["USDT"],
        tick_size=D("0.01"),
        lot_size=D("0.0001"),
        min_notional=D(5),
        actor=None,
    )
    trade_at(btc_krw, "100000000")
    trade_at(btc_usdt, "70000")
    return assets


@pytest.fixture
def trader(lpj_krw, usdt_path, make_user, settle):
    """Deposited 1,000,000 KRW, bought 100 LPJ at 1,000 as a taker (fee 0.2% = 200 KRW)."""
    from accounts.services import user_create

    user = user_create(username="holder", email="holder@example.com", password="a-long-pass-1")
    deposit_create(user=user, asset_symbol="KRW", amount=D(1000000))
    order_place(
        user=make_user(LPJ="100"),
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=D(100),
        price=D(1000),
    )
    settle(lpj_krw)
    order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(100), price=D(1000)
    )
    settle(lpj_krw)
    return user


def test_the_portfolio_is_valued_at_last_prices_with_allocation_and_a_usdt_total(
    trader, lpj_krw, usdt_path
) -> None:
    # given LPJ's last price moves to 1,200 in a later trade
    trade_at(lpj_krw, "1200", timezone.now() + timedelta(minutes=2))
    # when the portfolio is read in KRW, also in USDT
    portfolio = portfolio_get(user=trader, reference=usdt_path["KRW"], also=[usdt_path["USDT"]])
    # then 899,800 KRW + 100 LPJ x 1,200 = 1,019,800 KRW
    assert portfolio.total == D(1019800)
    rows = {h.asset.symbol: h for h in portfolio.holdings}
    assert [h.asset.symbol for h in portfolio.holdings] == ["KRW", "LPJ"]
    assert (rows["LPJ"].amount, rows["LPJ"].price, rows["LPJ"].value) == (
        D(100),
        D(1200),
        D(120000),
    )
    assert rounded(rows["LPJ"].share_pct, 2) == D("11.77")  # 120,000 / 1,019,800
    # and in USDT through BTC: 1,019,800 / (100,000,000 / 70,000)
    ((usdt, in_usdt),) = portfolio.also
    assert usdt.symbol == "USDT"
    assert rounded(in_usdt, 6) == D("713.860000")


def test_profit_and_loss_takes_deposits_out_and_values_the_start_at_its_prices(
    trader, lpj_krw, usdt_path
) -> None:
    krw = usdt_path["KRW"]
    # given LPJ's price later rises to 1,200
    after_buy = timezone.now() + timedelta(minutes=1)
    trade_at(lpj_krw, "1200", timezone.now() + timedelta(minutes=2))
    # when PnL is counted from before the deposit
    before = portfolio_pnl(user=trader, reference=krw, since=timezone.now() - timedelta(days=1))
    # then the deposit is no profit: 1,019,800 - 0 - 1,000,000
    assert (before.value_then, before.net_flows, before.value_now) == (
        D(0),
        D(1000000),
        D(1019800),
    )
    assert before.pnl == D(19800)
    assert rounded(before.pnl_pct, 2) == D("1.98")
    # when counted from after the buy (LPJ then at 1,000): 1,019,800 - 999,800
    since_buy = portfolio_pnl(user=trader, reference=krw, since=after_buy)
    assert since_buy.value_then == D(999800)
    assert since_buy.net_flows == D(0)
    assert since_buy.pnl == D(20000)


def test_the_ledger_reads_as_deposit_trade_and_fee_with_holds_folded(trader) -> None:
    # when the activity is read
    story = activity_list(user=trader)
    # then newest first: the fee, the trade, the deposit; no hold or release lines
    told = [(a.kind, a.title, [(m.asset.symbol, m.amount) for m in a.movements]) for a in story]
    assert told == [
        ("fee", "Trading fee (taker)", [("KRW", D(-200))]),
        ("trade", "Bought LPJ", [("LPJ", D(100)), ("KRW", D(-100000))]),
        ("deposit", "Deposit", [("KRW", D(1000000))]),
    ]
    assert story[1].price == D(1000)
    assert story[1].pair is not None
    assert story[1].pair.symbol == "LPJ-KRW"
