"""Orders in the engine's integers: the translation of an order (or checked terms) into an
``EngineOrder``, the engine boundary's range check, and why the engine can never take an order."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from engine.engine import EngineOrder, InvalidEngineOrder, StpMode
from engine.engine import OrderType as EngineType
from engine.engine import Side as EngineSide
from engine.engine import TimeInForce as EngineTif
from engine.units import (
    MAX_ENGINE_INT,
    OffGrid,
    OutOfEngineRange,
    price_to_ticks,
    quantity_to_lots,
    quote_to_units_ceil,
)
from markets.models import TradingPair
from orders.errors import invalid_field
from orders.models import MARKET_TYPES, CancelReason, Order, OrderType, Side

if TYPE_CHECKING:
    from orders.terms import OrderTerms


# A market type's limit form: a buy of a market type by quantity runs as it, IOC, at its
# protective price.
_LIMIT_FORMS = {
    OrderType.MARKET: EngineType.LIMIT,
    OrderType.STOP_MARKET: EngineType.STOP_LIMIT,
    OrderType.TAKE_PROFIT_MARKET: EngineType.TAKE_PROFIT_LIMIT,
}


def hold_fee_rate(pair: TradingPair) -> Decimal:
    # Hold for the dearer of the two fees: a resting order can end up either maker or taker.
    return max(pair.maker_fee, pair.taker_fee)


def engine_order_for(order: Order, *, engine_price: Decimal | None = None) -> EngineOrder:
    """The engine's integer view of ``order``. Raises ``OffGrid``/``OutOfEngineRange`` for a
    value the engine cannot hold; ``EngineOrder.check`` the rest.

    Buys of a market type by quantity go to the engine as their limit form (``_LIMIT_FORMS``),
    IOC, at their protective price (recomputed from what the order holds when not given)."""
    pair = order.pair
    if (
        engine_price is None
        and order.side == Side.BUY
        and order.quote_amount is None
        and order.type in MARKET_TYPES
    ):
        # Recompute from what the order holds: hold = price x quantity x (1 + fee) rounded up.
        per_unit = order.held / (order.quantity * (1 + hold_fee_rate(pair)))
        ticks = (per_unit / pair.tick_size).to_integral_value(rounding=ROUND_FLOOR)
        engine_price = ticks * pair.tick_size
    return _engine_order(
        pair=pair,
        order_id=str(order.pk),
        owner=order.user_id,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        post_only=order.post_only,
        price=order.price,
        stop_price=order.stop_price,
        quantity=order.quantity,
        quote_amount=order.quote_amount,
        stp_mode=order.stp_mode,
        engine_price=engine_price,
    )


def _engine_order(
    *,
    pair: TradingPair,
    order_id: str,
    owner: int,
    side: str,
    type: str,
    time_in_force: str,
    post_only: bool,
    price: Decimal | None,
    stop_price: Decimal | None,
    quantity: Decimal | None,
    quote_amount: Decimal | None,
    stp_mode: str,
    engine_price: Decimal | None,
) -> EngineOrder:
    tick, lot = pair.tick_size, pair.lot_size
    lots = engine_steps(quantity_to_lots, quantity, lot, "quantity")
    stop = engine_steps(price_to_ticks, stop_price, tick, "stop_price")
    quote_units = None
    if quote_amount is not None:
        units = (quote_amount / (tick * lot)).to_integral_value(rounding=ROUND_FLOOR)
        quote_units = int(units)
    engine_type = EngineType(type)
    ticks = engine_steps(price_to_ticks, price, tick, "price")
    tif = EngineTif(time_in_force)
    if side == Side.BUY and quote_amount is None and type in MARKET_TYPES:
        assert engine_price is not None
        # The protective price follows from the stop price, or the book and the quantity.
        ticks = engine_steps(
            price_to_ticks,
            engine_price,
            tick,
            "stop_price" if stop_price is not None else "quantity",
        )
        engine_type = _LIMIT_FORMS[OrderType(type)]
        tif = EngineTif.IOC
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=EngineSide(side),
        order_type=engine_type,
        quantity=lots,
        price=ticks,
        quote_amount=quote_units,
        stop_price=stop,
        time_in_force=tif,
        post_only=post_only,
        stp=StpMode(stp_mode),
    )


def engine_steps(
    convert: Callable[[Decimal, Decimal], int], value: Decimal | None, step: Decimal, field: str
) -> int | None:
    """``convert(value, step)`` with an ``OffGrid``/``OutOfEngineRange`` naming ``field``."""
    if value is None:
        return None
    try:
        return convert(value, step)
    except OffGrid as exc:
        raise invalid_field(field, exc.message, error=type(exc)) from None


# EngineOrder's field names that are also the API's (the rest are about the order's shape).
_API_FIELDS = frozenset({"price", "stop_price", "quantity", "quote_amount"})


def order_engine_check(*, pair: TradingPair, terms: OrderTerms, notional: Decimal) -> None:
    """The engine boundary's check, run by placement before anything is written: the integers
    ``order_submit`` will send (``engine_order_for``'s conversions, then ``EngineOrder.check``:
    each value and lots x ticks within 1..2**53-1), and the order's value in quote units (what
    a market order by quantity may cost). Raises ``OutOfEngineRange`` (400 ``out_of_range``)
    naming the field."""
    field = "quote_amount" if terms.quote_amount is not None else "quantity"
    engine_order = _engine_order(
        pair=pair,
        order_id="0",
        owner=0,
        side=terms.side,
        type=terms.type,
        time_in_force=terms.time_in_force,
        post_only=terms.post_only,
        price=terms.price,
        stop_price=terms.stop_price,
        quantity=terms.quantity,
        quote_amount=terms.quote_amount,
        stp_mode=terms.stp_mode,
        engine_price=terms.engine_price,
    )
    try:
        engine_order.check()
    except InvalidEngineOrder as exc:
        name = exc.field if exc.field in _API_FIELDS else field
        raise invalid_field(
            name, f"Outside what the matching engine can hold: {exc}.", error=OutOfEngineRange
        ) from None
    if quote_to_units_ceil(notional, pair.tick_size, pair.lot_size) > MAX_ENGINE_INT:
        raise invalid_field(
            field,
            "The order's value is more than the matching engine can hold.",
            error=OutOfEngineRange,
        )


def order_engine_refusal(order: Order) -> OffGrid | InvalidEngineOrder | None:
    """Why the engine can never take ``order`` as written (None: it can)."""
    try:
        engine_order_for(order).check()
    except (OffGrid, InvalidEngineOrder) as exc:
        return exc
    return None


def order_quarantine_reason(refusal: OffGrid | InvalidEngineOrder) -> str:
    """The ``CancelReason`` of a quarantine for ``refusal``."""
    if isinstance(refusal, OutOfEngineRange) or (
        isinstance(refusal, InvalidEngineOrder) and refusal.out_of_range
    ):
        return CancelReason.OUT_OF_RANGE
    if isinstance(refusal, OffGrid):
        return CancelReason.INVALID_PRECISION
    return CancelReason.ENGINE_REFUSED
