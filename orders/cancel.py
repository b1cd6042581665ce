"""Cancels: asked of the engine; settlement releases the unfilled hold when it applies the
engine's ``done``."""

from __future__ import annotations

import time

import redis

from accounts.models import User
from engine.runtime import get_engine
from markets.selectors import pair_get
from orders.errors import EngineUnavailable, OrderNotFound, OrderNotOpen
from orders.models import OPEN_STATUSES, Order, OrderStatus
from orders.relay import order_submit


def _user_order(*, user: User, order_id: int) -> Order:
    order = (
        Order.objects.select_related("pair", "pair__base", "pair__quote")
        .filter(user=user, pk=order_id)
        .first()
    )
    if order is None:
        raise OrderNotFound(fields={"id": ["No such order."]})
    return order


def order_cancel(*, user: User, order_id: int, wait_s: float = 1.0) -> Order:
    """Ask the engine to cancel one of ``user``'s open orders; settlement releases the unfilled
    hold exactly once when it applies the engine's ``done``. Waits up to ``wait_s`` for that, so
    the answer usually shows the order cancelled. Another user's order: ``OrderNotFound``;
    a closed order: ``OrderNotOpen`` (409)."""
    order = _user_order(user=user, order_id=order_id)
    if order.status not in OPEN_STATUSES:
        raise OrderNotOpen()
    _engine_cancel(order)
    return _wait_closed(order, wait_s)


def _engine_cancel(order: Order) -> None:
    engine = get_engine()
    try:
        if order.status == OrderStatus.PENDING:
            order_submit(order_id=order.pk)  # make sure the engine has it before cancelling
            order.refresh_from_db(fields=["status"])
            if order.status not in OPEN_STATUSES:
                return  # quarantined: the engine never had it, and its hold is released
        engine.cancel(order.pair.symbol, str(order.pk))
    except redis.RedisError as exc:
        raise EngineUnavailable() from exc


def _wait_closed(order: Order, wait_s: float) -> Order:
    deadline = time.monotonic() + wait_s
    while True:
        order.refresh_from_db()
        if order.status not in OPEN_STATUSES or time.monotonic() >= deadline:
            return order
        time.sleep(0.01)


def order_cancel_all(*, user: User, symbol: str | None = None) -> list[Order]:
    """Cancel all of ``user``'s open orders (in one market when ``symbol``). Returns the orders
    that were open, refreshed after the engine's answers settled (waits up to 1 s)."""
    open_orders = Order.objects.select_related("pair", "pair__base", "pair__quote").filter(
        user=user, status__in=OPEN_STATUSES
    )
    if symbol is not None:
        open_orders = open_orders.filter(pair=pair_get(symbol=symbol))
    orders = list(open_orders.order_by("pk"))
    engine = get_engine()
    try:
        for order in orders:
            if order.status == OrderStatus.PENDING:
                order_submit(order_id=order.pk)
        for pair_symbol in sorted({order.pair.symbol for order in orders}):
            engine.cancel_all(pair_symbol, user.pk)
    except redis.RedisError as exc:
        raise EngineUnavailable() from exc
    deadline = time.monotonic() + 1.0
    for order in orders:
        _wait_closed(order, max(0.0, deadline - time.monotonic()))
    return orders
