"""The sizing rules of ``copytrading.sizing``, number by number (docs/copytrading.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copytrading.sizing import Market, Plan, Skip, copy_plan, limit_price

D = Decimal
MARKET = Market(tick_size=D(1), lot_size=D("0.01"), min_notional=D(1000), slippage=D("0.005"))


def plan(**changes: object) -> Plan:
    terms: dict[str, object] = {
        "side": "buy",
        "price": D(1000),
        "quantity": D(10),
        "market": MARKET,
        "mode": "fixed_ratio",
        "fixed_amount": None,
        "max_order_quote": None,
        "leader_equity": D(1_000_000),
        "leader_base_before": D(0),
        "allocation_value": D(100_000),
        "allocation_base": D(0),
    }
    terms.update(changes)
    return copy_plan(**terms)  # type: ignore[arg-type]


def test_fixed_ratio_copies_the_leaders_share_of_equity() -> None:
    # 10,000 of 1,000,000 (1 %) -> 1 % of 100,000 = 1,000 KRW = 1 LPJ at 1,000; limit +0.5 %
    assert plan() == Plan(quantity=D(1), price=D(1005))
    # a 33,333 allocation: 333.33 KRW -> 0.33 LPJ: below the 1,000 minimum value
    assert plan(allocation_value=D(33_333)).skip == Skip.BELOW_MINIMUM


def test_fixed_amount_spends_the_amount_whatever_the_leader_did() -> None:
    assert plan(mode="fixed_amount", fixed_amount=D(2500)) == Plan(quantity=D("2.5"), price=D(1005))
    assert plan(mode="fixed_amount", fixed_amount=D(2500), quantity=D(1000)).quantity == D("2.5")


def test_max_order_quote_caps_a_copy() -> None:
    assert plan(allocation_value=D(1_000_000), max_order_quote=D(3333)).quantity == D("3.33")


def test_a_sell_is_the_share_of_the_position_never_more() -> None:
    # the leader sells 10 of the 40 they held: a quarter of the follower's 7.5
    sold = plan(side="sell", leader_base_before=D(40), allocation_base=D("7.5"))
    assert sold == Plan(quantity=D("1.87"), price=D(995))
    # selling more than they held (they bought more since): everything, not more
    assert plan(side="sell", leader_base_before=D(5), allocation_base=D(3)).quantity == D(3)
    assert plan(side="sell", allocation_base=D(0)).skip == Skip.NOTHING_TO_SELL


def test_nothing_to_size_against() -> None:
    assert plan(leader_equity=D(0)).skip == Skip.LEADER_EQUITY_UNKNOWN


@pytest.mark.parametrize(
    ("side", "price", "slippage", "tick", "limit"),
    [
        ("buy", "1000", "0.005", "1", "1005"),
        ("buy", "999", "0.005", "1", "1003"),  # 1003.995 rounds down: never past the cap
        ("sell", "999", "0.005", "1", "995"),  # 994.005 rounds up
        ("sell", "3", "0.5", "5", "5"),  # never below one tick
        ("buy", "0.1234", "0.01", "0.0001", "0.1246"),
    ],
)
def test_the_limit_is_capped_by_the_slippage_on_the_tick(
    side, price, slippage, tick, limit
) -> None:
    market = Market(tick_size=D(tick), lot_size=D(1), min_notional=D(0), slippage=D(slippage))
    assert limit_price(side=side, price=D(price), market=market) == D(limit)
