"""How big a follower's copy of one leader fill is: a pure function of numbers, so every rule
(docs/copytrading.md "Sizing") is tested without a database.

- **Buys.** Fixed ratio: the leader's fill value times the follower's allocation value over
  the leader's equity (both in the allocation asset), so a leader order worth 10 % of their
  equity becomes a copy worth 10 % of the allocation. Fixed amount: ``fixed_amount`` per copy.
  Then capped by ``max_order_quote`` and sized at the leader's price.
- **Sells.** Always by proportion of the position: the leader sold ``q`` of the ``H`` they held
  before the fill, so the follower sells ``q / H`` of what the allocation holds, never more.
- **Price.** An IOC limit at the leader's price moved by the slippage cap against the follower
  (up for a buy, down for a sell), on the tick: a copy never chases the price further.
- Quantities are rounded down to the lot. A copy under the market's lot or minimum value is
  skipped with a reason; one the allocation cannot pay is refused by placement itself (the
  hold), recorded as ``beyond_allocation``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

_ZERO = Decimal(0)


class Skip:
    """Why a copy was not placed (``CopyOrder.reason``)."""

    MARKET_NOT_COPIED = "market_not_copied"  # not in the allow-list, or not quoted in the asset
    LEADER_EQUITY_UNKNOWN = "leader_equity_unknown"  # nothing to size a ratio against
    NOTHING_TO_SELL = "nothing_to_sell"  # the allocation holds none of the base asset
    BELOW_MINIMUM = "below_minimum"  # under one lot or the market's minimum value
    BEYOND_ALLOCATION = "beyond_allocation"  # the allocation cannot pay for it


@dataclass(frozen=True)
class Market:
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal
    slippage: Decimal


@dataclass(frozen=True)
class Plan:
    """A copy to place (``quantity`` at the IOC limit ``price``), or ``skip`` with ``detail``."""

    quantity: Decimal = _ZERO
    price: Decimal = _ZERO
    skip: str = ""
    detail: str = ""


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def limit_price(*, side: str, price: Decimal, market: Market) -> Decimal:
    """The leader's price moved by the slippage cap against the follower, kept on the tick and
    never past the cap (a buy's limit rounds down, a sell's up)."""
    if side == "buy":
        return _floor(price * (1 + market.slippage), market.tick_size)
    return max(_ceil(price * (1 - market.slippage), market.tick_size), market.tick_size)


def copy_plan(
    *,
    side: str,
    price: Decimal,
    quantity: Decimal,
    market: Market,
    mode: str,
    fixed_amount: Decimal | None,
    max_order_quote: Decimal | None,
    leader_equity: Decimal,
    leader_base_before: Decimal,
    allocation_value: Decimal,
    allocation_base: Decimal,
) -> Plan:
    """The copy of a leader fill of ``quantity`` at ``price`` (see the module docstring).
    ``leader_base_before``: the leader's holding of the base asset before this fill (sells);
    ``allocation_base``: what the allocation holds of it, available to sell."""
    limit = limit_price(side=side, price=price, market=market)
    if side == "buy":
        if mode == "fixed_amount":
            cost = fixed_amount or _ZERO
        elif leader_equity <= 0:
            return Plan(skip=Skip.LEADER_EQUITY_UNKNOWN, detail="The leader's equity is not known.")
        else:
            cost = price * quantity * allocation_value / leader_equity
        if max_order_quote is not None:
            cost = min(cost, max_order_quote)
        size = _floor(cost / price, market.lot_size)
    else:
        if allocation_base <= 0:
            return Plan(skip=Skip.NOTHING_TO_SELL, detail="The copy holds none of it.")
        share = min(Decimal(1), quantity / leader_base_before) if leader_base_before > 0 else 1
        size = _floor(min(allocation_base * share, allocation_base), market.lot_size)
        if max_order_quote is not None:
            size = min(size, _floor(max_order_quote / price, market.lot_size))
    if size <= 0 or size * limit < market.min_notional:
        return Plan(
            skip=Skip.BELOW_MINIMUM,
            detail="Smaller than one lot or the market's minimum order value.",
        )
    return Plan(quantity=size, price=limit)
