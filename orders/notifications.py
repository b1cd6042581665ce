"""What an order tells its owner in words: the order described as a trader says it, why the
exchange ended it, and the notification of an order the engine or the relay closed (a cancel
the user asked for is not reported: they know)."""

from __future__ import annotations

from decimal import Decimal

from notifications.models import Notification
from notifications.services import NotificationInput, notifications_send
from orders.models import CancelReason, Order, OrderStatus
from tradehive.money import format_amount, format_decimal

# Why the exchange ended an order, as the user reads it after "rejected: " or "cancelled: ".
REASON_WORDS: dict[str, str] = {
    CancelReason.IOC: "immediate-or-cancel, the rest did not fill at once",
    CancelReason.FOK: "fill-or-kill, it could not fill completely at once",
    CancelReason.WOULD_TAKE: "post-only, it would have traded at once",
    CancelReason.SELF_TRADE: "it would have traded with your own order",
    CancelReason.INSUFFICIENT_LIQUIDITY: "not enough orders in the book to fill it",
    CancelReason.MARKET_HALTED: "the market was halted",
    CancelReason.ADMIN: "cancelled by the exchange",
    CancelReason.OUT_OF_RANGE: "its price or amount is beyond what the market can take",
    CancelReason.INVALID_PRECISION: "its price or amount is off the market's steps",
    CancelReason.ENGINE_REFUSED: "the matching engine could not take it",
}

# The same reasons in a word or two, after a status in a table: "cancelled (IOC)".
SHORT_REASONS: dict[str, str] = {
    CancelReason.USER: "",
    CancelReason.IOC: "IOC",
    CancelReason.FOK: "FOK",
    CancelReason.WOULD_TAKE: "post-only would take",
    CancelReason.SELF_TRADE: "self-trade",
    CancelReason.INSUFFICIENT_LIQUIDITY: "no liquidity",
    CancelReason.MARKET_HALTED: "halted",
    CancelReason.ADMIN: "by the exchange",
    CancelReason.OUT_OF_RANGE: "out of range",
    CancelReason.INVALID_PRECISION: "off the steps",
    CancelReason.ENGINE_REFUSED: "engine refused",
}


def order_words(order: Order) -> str:
    """``"Buy 5 LPJ at 1,010 KRW"``, ``"Market sell 2 LPJ"``, ``"Market buy with 5,000 KRW of
    LPJ"`` (``order.pair`` with its assets loaded)."""
    pair = order.pair
    who = order.side.capitalize() if order.price is not None else f"Market {order.side}"
    if order.quantity is not None:
        what = f"{format_amount(order.quantity, pair.quantity_places)} {pair.base.symbol}"
    else:
        spend = format_amount(order.quote_amount or Decimal(0), pair.quote.decimals)
        what = f"with {spend} {pair.quote.symbol} of {pair.base.symbol}"
    at = (
        f" at {format_amount(order.price, pair.price_places)} {pair.quote.symbol}"
        if order.price is not None
        else ""
    )
    return f"{who} {what}{at}"


def order_ended_by_exchange(order: Order) -> bool:
    """Rejected, or cancelled for a reason other than the user's own cancel."""
    if order.status == OrderStatus.REJECTED:
        return True
    return order.status == OrderStatus.CANCELLED and order.cancel_reason != CancelReason.USER


def order_ended_notification(order: Order) -> NotificationInput | None:
    """The notification of an order the exchange ended (``order_ended_by_exchange``), once per
    order (key ``order:<id>:ended``); None for any other order. A partly filled order says how
    much filled before the rest was cancelled."""
    if not order_ended_by_exchange(order):
        return None
    pair = order.pair
    why = REASON_WORDS.get(order.cancel_reason, order.cancel_reason.replace("_", " "))
    rejected = order.status == OrderStatus.REJECTED
    filled = format_amount(order.filled_quantity, pair.quantity_places)
    if rejected:
        title = f"{order_words(order)} rejected: {why}"
    elif order.filled_quantity > 0:
        title = (
            f"{order_words(order)}: {filled} {pair.base.symbol} filled, the rest cancelled: {why}"
        )
    else:
        title = f"{order_words(order)} cancelled: {why}"
    return NotificationInput(
        user_id=order.user_id,
        kind=Notification.Kind.ORDER_REJECTED if rejected else Notification.Kind.ORDER_CANCELLED,
        key=f"order:{order.pk}:ended",
        title=title[:200],
        data={
            "order_id": order.pk,
            "symbol": pair.symbol,
            "side": order.side,
            "type": order.type,
            "status": order.status,
            "reason": order.cancel_reason,
            "filled_quantity": format_decimal(order.filled_quantity, pair.quantity_places),
        },
    )


def order_ended_notify(*, order: Order) -> None:
    """Store and push ``order_ended_notification`` of ``order`` (after its close committed)."""
    item = order_ended_notification(order)
    if item is not None:
        notifications_send(items=[item])
