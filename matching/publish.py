"""The one push point after settlement commits: order, fill, balance, trade, candle, ticker,
depth and notification changes.

Messages go to Channels groups (names in ``group_for``) as ``{"type": "push", "channel",
"data", "ts"}``; the websocket consumer (``realtime``) forwards them to subscribed clients as
``{"channel", "data", "ts"}``. One message per group per settled batch, all sent in one
round of the channel layer, so a burst of fills costs a handful of sends, not one per fill.

Depth and tickers are not sent from here: the batch only marks its market dirty and the
coalescer of the websocket processes publishes them, at most 10 depth updates (gap-free
sequence) and 4 tickers a second per market (``realtime.depth``)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tradehive.money import epoch_ms, format_decimal, iso_ms

if TYPE_CHECKING:
    from markets.models import TradingPair
    from markets.services import TradeInput
    from orders.models import Fill, Order
    from realtime.models import Notification
    from realtime.services import NotificationInput

logger = logging.getLogger(__name__)

Message = tuple[str, dict[str, Any]]  # (group, layer message)


@dataclass(frozen=True)
class SettledBatch:
    pair: TradingPair
    orders: list[Order]
    fills: list[Fill]
    trades: list[TradeInput]
    sequence: int
    notifications: list[Notification] = field(default_factory=list)


def group_for(channel: str, *, user_id: int | None = None) -> str:
    """Channels group of a public channel (``trades:BTC-KRW`` -> ``trades.BTC-KRW``) or of a
    user's private channel (``orders`` -> ``user.42.orders``)."""
    if user_id is not None:
        return f"user.{user_id}.{channel}"
    return channel.replace(":", ".")


def push_message(channel: str, data: Any, ts_ms: int, *,
                 user_id: int | None = None) -> Message:
    return group_for(channel, user_id=user_id), {"type": "push", "channel": channel,
                                                 "data": data, "ts": ts_ms}


async def _send_all(messages: Sequence[Message]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        await layer.group_send(group, message)


def send_many(messages: Sequence[Message]) -> None:
    """Send ``messages`` in order, in one event-loop round (from synchronous code)."""
    if messages:
        async_to_sync(_send_all)(messages)


def send(group: str, channel: str, data: Any, ts_ms: int) -> None:
    send_many([(group, {"type": "push", "channel": channel, "data": data, "ts": ts_ms})])


def _notification_data(notification: Notification) -> dict[str, Any]:
    return {"id": notification.pk, "kind": notification.kind, "title": notification.title,
            "data": notification.data, "read": notification.read_at is not None,
            "created_at": iso_ms(notification.created_at)}


def publish_notifications(*, notifications: Sequence[Notification]) -> None:
    """Push new notifications to their owners' ``notifications`` channel."""
    from django.utils import timezone

    now_ms = epoch_ms(timezone.now())
    send_many([push_message("notifications", _notification_data(n), now_ms, user_id=n.user_id)
               for n in notifications])


_TRIGGERED_CANCEL_REASONS = {"ioc", "fok", "insufficient_liquidity", "self_trade"}


def _was_triggered(order: Order) -> bool:
    """A stop order that has left ``untriggered``: it trades, rests, or ended as a taker."""
    from orders.models import OrderStatus, OrderType

    if order.type not in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET):
        return False
    if order.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        return True
    return order.status == OrderStatus.CANCELLED and (
        order.filled_quantity > 0 or order.cancel_reason in _TRIGGERED_CANCEL_REASONS)


def order_notifications(*, batch: SettledBatch) -> list[NotificationInput]:
    """What a settled batch tells its users: orders filled or partly filled by this batch's
    fills, and stop orders that triggered (reported once per order)."""
    from orders.models import OrderStatus
    from realtime.models import Notification
    from realtime.services import NotificationInput

    pair = batch.pair
    filled_now: dict[int, Decimal] = defaultdict(Decimal)
    for fill in batch.fills:
        filled_now[fill.order_id] += fill.quantity
    items: list[NotificationInput] = []
    for order in batch.orders:
        base = {"order_id": order.pk, "symbol": pair.symbol, "side": order.side,
                "type": order.type, "status": order.status,
                "filled_quantity": format_decimal(order.filled_quantity, pair.quantity_places)}
        if _was_triggered(order):
            stop = format_decimal(order.stop_price, pair.price_places) if order.stop_price else None
            items.append(NotificationInput(
                user_id=order.user_id, kind=Notification.Kind.STOP_TRIGGERED,
                key=f"order:{order.pk}:triggered", data={**base, "stop_price": stop},
                title=f"Stop {order.side} {pair.symbol} triggered at {stop}"))
        quantity = filled_now.get(order.pk)
        if not quantity:
            continue
        data = {**base, "quantity": format_decimal(quantity, pair.quantity_places)}
        if order.status == OrderStatus.FILLED:
            items.append(NotificationInput(
                user_id=order.user_id, kind=Notification.Kind.ORDER_FILLED,
                key=f"order:{order.pk}:filled", data=data,
                title=f"{order.side.capitalize()} {data['filled_quantity']} {pair.symbol} "
                      "filled"))
        else:
            items.append(NotificationInput(
                user_id=order.user_id, kind=Notification.Kind.ORDER_PARTIALLY_FILLED,
                key=f"order:{order.pk}:partial:{batch.sequence}", data=data,
                title=f"{order.side.capitalize()} {pair.symbol}: {data['quantity']} filled "
                      f"({data['filled_quantity']} so far)"))
    return items


def _candle_messages(batch: SettledBatch, now_ms: int) -> list[Message]:
    from markets.apis import CandleOut
    from markets.intervals import INTERVALS, bucket_start
    from realtime.selectors import candle_list_since

    first = min(t.created_at for t in batch.trades)
    candles = candle_list_since(pair=batch.pair,
                                since={i: bucket_start(first, i) for i in INTERVALS})
    by_interval: dict[str, list[Any]] = defaultdict(list)
    for candle in candles:
        by_interval[candle.interval].append(candle)
    symbol = batch.pair.symbol
    return [push_message(f"candles:{symbol}:{interval}",
                         CandleOut(rows, many=True, context={"pair": batch.pair}).data, now_ms)
            for interval, rows in by_interval.items()]


def _balance_payloads(batch: SettledBatch, user_ids: set[int]) -> dict[int, list[dict[str, str]]]:
    """The market's two balances of every user in the batch, in one query."""
    from wallets.models import Balance

    pair = batch.pair
    assets = {pair.base_id: pair.base, pair.quote_id: pair.quote}
    payloads: dict[int, list[dict[str, str]]] = {user_id: [] for user_id in user_ids}
    rows = (Balance.objects.filter(account__user_id__in=user_ids, asset_id__in=assets)
            .values_list("account__user_id", "asset_id", "available", "locked")
            .order_by("account__user_id", "asset_id"))
    for user_id, asset_id, available, locked in rows:
        asset = assets[asset_id]
        payloads[user_id].append({
            "asset": asset.symbol, "available": format_decimal(available, asset.decimals),
            "locked": format_decimal(locked, asset.decimals),
            "total": format_decimal(available + locked, asset.decimals)})
    return payloads


def publish_settled(*, batch: SettledBatch) -> None:
    """Push what one settled batch changed (called on commit; failures are logged, not raised:
    PostgreSQL already holds the truth and clients resync from REST)."""
    from django.utils import timezone

    from orders.apis import FillOutputSerializer, OrderOutputSerializer
    from realtime.depth import market_mark_dirty

    now_ms = epoch_ms(timezone.now())
    symbol = batch.pair.symbol
    market_mark_dirty(symbol=symbol)
    messages: list[Message] = []
    if batch.trades:
        trades = [{"id": t.sequence, "price": format_decimal(t.price, batch.pair.price_places),
                   "quantity": format_decimal(t.quantity, batch.pair.quantity_places),
                   "taker_side": t.taker_side, "created_at": iso_ms(t.created_at)}
                  for t in batch.trades]
        messages.append(push_message(f"trades:{symbol}", trades, now_ms))
        messages += _candle_messages(batch, now_ms)

    orders_by_user: dict[int, list[Order]] = defaultdict(list)
    for order in batch.orders:
        orders_by_user[order.user_id].append(order)
    fills_by_user: dict[int, list[Fill]] = defaultdict(list)
    for fill in batch.fills:
        fills_by_user[fill.user_id].append(fill)
    for user_id, orders in orders_by_user.items():
        messages.append(push_message("orders", OrderOutputSerializer(orders, many=True).data,
                                     now_ms, user_id=user_id))
    for user_id, fills in fills_by_user.items():
        messages.append(push_message("fills", FillOutputSerializer(fills, many=True).data,
                                     now_ms, user_id=user_id))
    for user_id, data in _balance_payloads(batch, set(orders_by_user)).items():
        messages.append(push_message("balances", data, now_ms, user_id=user_id))
    send_many(messages)
    publish_notifications(notifications=batch.notifications)
