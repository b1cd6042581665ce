"""Decimal amounts <-> the engine's integers, given a pair's tick_size and lot_size.

- price (quote per base)  <-> ticks:        price = ticks * tick_size
- quantity (base)         <-> lots:         quantity = lots * lot_size
- quote amount (quote)    <-> quote units:  amount = units * tick_size * lot_size, so a fill of
  ``q`` lots at ``p`` ticks costs exactly ``p * q`` quote units.

A value off the grid is refused (``OffGrid``), never rounded: rounding is the caller's explicit
business decision. Floats are refused too. Results stay below 2**53, the range in which Redis
sorted-set scores and Lua numbers are exact: a value beyond it is refused with
``OutOfEngineRange``. ``EngineOrder.check`` applies the same bound to the integers of an order and
their products (lots x ticks, the quote units a fill costs)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

from tradehive.errors import InvalidInput

MAX_ENGINE_INT = 2**53 - 1
# Enough digits that divmod/multiply of engine-sized values never round in the context.
_EXACT_DIGITS = 80


class OffGrid(InvalidInput):
    code = "invalid_precision"
    default_message = "The value is not a multiple of the market's tick or lot size."


class OutOfEngineRange(OffGrid):
    """A value (or a product of values) the engine's integers cannot hold: more than
    ``MAX_ENGINE_INT`` ticks, lots or quote units, or less than one."""

    code = "out_of_range"
    default_message = "The value is outside the range the matching engine can hold."


def _steps(value: Decimal, step: Decimal, what: str) -> int:
    if not isinstance(value, Decimal) or not isinstance(step, Decimal):
        raise TypeError(f"{what}: Decimal values only (got {type(value).__name__})")
    if not value.is_finite() or not step.is_finite() or step <= 0:
        raise OffGrid(f"{what}: {value} is not a finite amount on a positive step {step}")
    if value <= 0:
        raise OffGrid(f"{what}: {value} must be positive")
    with localcontext() as exact:
        exact.prec = _EXACT_DIGITS
        try:
            count, remainder = divmod(value, step)
        except InvalidOperation as exc:
            raise OutOfEngineRange(f"{what}: {value:f} is too large for the engine") from exc
    if remainder != 0:
        raise OffGrid(f"{what}: {value.normalize():f} is not a multiple of {step.normalize():f}")
    steps = int(count)
    if steps > MAX_ENGINE_INT:
        largest = _amount(MAX_ENGINE_INT, step).normalize()
        raise OutOfEngineRange(
            f"{what}: {value.normalize():f} is too large for the engine (at most {largest:f})"
        )
    return steps


def _amount(steps: int, step: Decimal) -> Decimal:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise TypeError("engine integers are non-negative ints")
    with localcontext() as exact:
        exact.prec = _EXACT_DIGITS
        return steps * step


def price_to_ticks(price: Decimal, tick_size: Decimal) -> int:
    return _steps(price, tick_size, "price")


def quantity_to_lots(quantity: Decimal, lot_size: Decimal) -> int:
    return _steps(quantity, lot_size, "quantity")


def quote_to_units(amount: Decimal, tick_size: Decimal, lot_size: Decimal) -> int:
    return _steps(amount, tick_size * lot_size, "quote amount")


def quote_to_units_ceil(amount: Decimal, tick_size: Decimal, lot_size: Decimal) -> int:
    """``amount`` of quote in quote units, rounded up: the engine-side size of a value that need
    not be on the grid (an order's notional). No range check: compare with ``MAX_ENGINE_INT``."""
    with localcontext() as exact:
        exact.prec = _EXACT_DIGITS
        return int((amount / (tick_size * lot_size)).to_integral_value(rounding=ROUND_CEILING))


def ticks_to_price(ticks: int, tick_size: Decimal) -> Decimal:
    return _amount(ticks, tick_size)


def lots_to_quantity(lots: int, lot_size: Decimal) -> Decimal:
    return _amount(lots, lot_size)


def units_to_quote(units: int, tick_size: Decimal, lot_size: Decimal) -> Decimal:
    return _amount(units, tick_size * lot_size)


def levels_decimal(
    levels: Iterable[tuple[int, int]], tick_size: Decimal, lot_size: Decimal
) -> list[tuple[Decimal, Decimal]]:
    """Book levels (price ticks, lots) -> (price, quantity) decimals."""
    return [(_amount(price, tick_size), _amount(lots, lot_size)) for price, lots in levels]
