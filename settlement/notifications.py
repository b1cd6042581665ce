"""What settlement tells users: the wording of fill and stop-trigger notifications, and the
orders the engine ended (``orders.notifications``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from notifications.models import Notification
from notifications.services import NotificationInput
from orders.models import TAKE_PROFIT_TYPES, TRIGGER_TYPES, Order, OrderStatus
from orders.notifications import order_ended_notification, order_words
from tradehive.money import format_amount, format_decimal

if TYPE_CHECKING:
    from settlement.publish import SettledBatch

_TRIGGERED_CANCEL_REASONS = {"ioc", "fok", "insufficient_liquidity", "self_trade"}


def _was_triggered(order: Order) -> bool:
    """A stop or take-profit that has left ``untriggered``: it trades, rests, or ended as a
    taker."""
    if order.type not in TRIGGER_TYPES:
        return False
    if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        return True
    return order.status == OrderStatus.CANCELLED and (
        order.filled_quantity > 0 or order.cancel_reason in _TRIGGERED_CANCEL_REASONS
    )


def _trigger_name(order: Order) -> str:
    return "Take-profit" if order.type in TAKE_PROFIT_TYPES else "Stop"


def order_notifications(*, batch: SettledBatch) -> list[NotificationInput]:
    """What a settled batch tells its users: orders filled or partly filled by this batch's
    fills, stop and take-profit orders that triggered (reported once per order), and orders
    the engine ended (rejected, or cancelled for a reason other than the user's cancel: one
    notification that also says what filled before)."""
    pair = batch.pair
    filled_now: dict[int, Decimal] = defaultdict(Decimal)
    for fill in batch.fills:
        filled_now[fill.order_id] += fill.quantity
    items: list[NotificationInput] = []
    for order in batch.orders:
        base = {
            "order_id": order.pk,
            "symbol": pair.symbol,
            "side": order.side,
            "type": order.type,
            "status": order.status,
            "filled_quantity": format_decimal(order.filled_quantity, pair.quantity_places),
        }
        if _was_triggered(order):
            stop = format_decimal(order.stop_price, pair.price_places) if order.stop_price else None
            shown = format_amount(order.stop_price, pair.price_places) if order.stop_price else ""
            items.append(
                NotificationInput(
                    user_id=order.user_id,
                    kind=Notification.Kind.STOP_TRIGGERED,
                    key=f"order:{order.pk}:triggered",
                    data={**base, "stop_price": stop},
                    title=f"{_trigger_name(order)} {order.side} {pair.symbol} triggered at {shown}",
                )
            )
        ended = order_ended_notification(order)
        if ended is not None:
            items.append(ended)  # it says what filled: no fill notification beside it
            continue
        quantity = filled_now.get(order.pk)
        if not quantity:
            continue
        data = {**base, "quantity": format_decimal(quantity, pair.quantity_places)}
        base_symbol = pair.base.symbol
        average = order.average_price
        at = (
            f" at {format_amount(average, pair.price_places)} {pair.quote.symbol}"
            if average is not None
            else ""
        )
        if order.status == OrderStatus.FILLED:
            filled = format_amount(order.filled_quantity, pair.quantity_places)
            items.append(
                NotificationInput(
                    user_id=order.user_id,
                    kind=Notification.Kind.ORDER_FILLED,
                    key=f"order:{order.pk}:filled",
                    data=data,
                    title=f"{order.side.capitalize()} {filled} {base_symbol} filled{at}",
                )
            )
        else:
            now = format_amount(quantity, pair.quantity_places)
            items.append(
                NotificationInput(
                    user_id=order.user_id,
                    kind=Notification.Kind.ORDER_PARTIALLY_FILLED,
                    key=f"order:{order.pk}:partial:{batch.sequence}",
                    data=data,
                    title=f"{order_words(order)}: {now} {base_symbol} filled ({_progress(order)})",
                )
            )
    return items


def _progress(order: Order) -> str:
    pair = order.pair
    filled = format_amount(order.filled_quantity, pair.quantity_places)
    if order.quantity is None:
        return f"{filled} so far"
    return f"{filled} of {format_amount(order.quantity, pair.quantity_places)}"
