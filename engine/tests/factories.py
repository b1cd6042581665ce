"""Short constructors for engine orders in tests."""

from __future__ import annotations

from engine.engine import EngineOrder, OrderType, Side, StpMode, TimeInForce
from engine.events import Event, Fill


def limit(
    order_id: str,
    side: str,
    price: int,
    quantity: int,
    *,
    owner: int = 1,
    tif: str = "GTC",
    post_only: bool = False,
    stp: str = "expire_taker",
) -> EngineOrder:
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=Side(side),
        order_type=OrderType.LIMIT,
        price=price,
        quantity=quantity,
        time_in_force=TimeInForce(tif),
        post_only=post_only,
        stp=StpMode(stp),
    )


def market(
    order_id: str,
    side: str,
    *,
    quantity: int | None = None,
    quote: int | None = None,
    owner: int = 1,
    stp: str = "expire_taker",
) -> EngineOrder:
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=Side(side),
        order_type=OrderType.MARKET,
        quantity=quantity,
        quote_amount=quote,
        stp=StpMode(stp),
    )


def fills(events: list[Event]) -> list[tuple[str, str, int, int]]:
    """(maker id, taker id, price, quantity) of each fill, in order."""
    return [
        (e.maker_order_id, e.taker_order_id, e.price, e.quantity)
        for e in events
        if isinstance(e, Fill)
    ]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]
