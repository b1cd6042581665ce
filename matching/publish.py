"""The one push point after settlement commits: order, fill, balance, trade and depth changes.

Messages go to Channels groups (names in ``group_for``); the websocket consumer forwards them to
subscribed clients as ``{"channel", "data", "ts"}``. One message per group per settled batch,
so a burst of fills costs a handful of sends, not one per fill."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tradehive.money import epoch_ms, format_decimal, iso_ms

if TYPE_CHECKING:
    from markets.models import TradingPair
    from markets.services import TradeInput
    from orders.models import Fill, Order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettledBatch:
    pair: TradingPair
    orders: list[Order]
    fills: list[Fill]
    trades: list[TradeInput]
    sequence: int


def group_for(channel: str, *, user_id: int | None = None) -> str:
    """Channels group of a public channel (``trades:BTC-KRW`` -> ``trades.BTC-KRW``) or of a
    user's private channel (``orders`` -> ``user.42.orders``)."""
    if user_id is not None:
        return f"user.{user_id}.{channel}"
    return channel.replace(":", ".")


def send(group: str, channel: str, data: Any, ts_ms: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": "push", "channel": channel, "data": data,
                                            "ts": ts_ms})


def publish_settled(*, batch: SettledBatch) -> None:
    """Push what one settled batch changed (called on commit; failures are logged, not raised:
    PostgreSQL already holds the truth and clients resync from REST)."""
    from django.utils import timezone
    from orders.apis import FillOutputSerializer, OrderOutputSerializer

    from wallets.selectors import balance_list_for_user

    now_ms = epoch_ms(timezone.now())
    symbol = batch.pair.symbol
    if batch.trades:
        trades = [{"id": t.sequence, "price": format_decimal(t.price),
                   "quantity": format_decimal(t.quantity), "taker_side": t.taker_side,
                   "created_at": iso_ms(t.created_at)} for t in batch.trades]
        channel = f"trades:{symbol}"
        send(group_for(channel), channel, trades, now_ms)
        channel = f"depth:{symbol}"
        send(group_for(channel), channel, {"sequence": batch.sequence}, now_ms)

    orders_by_user: dict[int, list[Order]] = defaultdict(list)
    for order in batch.orders:
        orders_by_user[order.user_id].append(order)
    fills_by_user: dict[int, list[Fill]] = defaultdict(list)
    for fill in batch.fills:
        fills_by_user[fill.user_id].append(fill)
    for user_id, orders in orders_by_user.items():
        send(group_for("orders", user_id=user_id), "orders",
             OrderOutputSerializer(orders, many=True).data, now_ms)
    for user_id, fills in fills_by_user.items():
        send(group_for("fills", user_id=user_id), "fills",
             FillOutputSerializer(fills, many=True).data, now_ms)
    from accounts.models import User

    for user_id in orders_by_user:
        rows = balance_list_for_user(user=User(pk=user_id))
        data = [{"asset": r.asset.symbol,
                 "available": format_decimal(r.available, r.asset.decimals),
                 "locked": format_decimal(r.locked, r.asset.decimals),
                 "total": format_decimal(r.total, r.asset.decimals)}
                for r in rows if r.asset.pk in (batch.pair.base_id, batch.pair.quote_id)]
        send(group_for("balances", user_id=user_id), "balances", data, now_ms)
