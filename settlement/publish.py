"""The one push point after settlement commits: order, fill, balance, trade, candle, ticker,
depth and notification changes.

Messages go to Channels groups (names in ``group_for``) as ``{"type": "push", "channel",
"data", "ts"}``; the websocket consumer (``realtime``) forwards them to subscribed clients as
``{"channel", "data", "ts"}``. One message per group per settled batch, all sent in one
round of the channel layer, so a burst of fills costs a handful of sends, not one per fill.

Depth and tickers are not sent from here: the batch only marks its market dirty and the
coalescer of the websocket processes publishes them, at most 10 depth updates (gap-free
sequence) and 4 tickers a second per market (``realtime.depth``).

Only groups someone listens to are rendered and sent: one pipelined Redis round asks the
channel layer which of a batch's groups have live members (``groups_listened``), so a trader
without an open websocket (most API clients) costs no serialization and no sends; before, every
order, fill, balance and notification of a batch cost a ``group_send`` of two Redis round trips
whether or not anyone was subscribed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tradehive.money import epoch_ms, format_decimal, iso_ms

if TYPE_CHECKING:
    from markets.models import TradingPair
    from markets.services import TradeInput
    from orders.models import Order
    from realtime.models import Notification
    from realtime.services import NotificationInput, StoredNotification
    from wallets.models import Asset

logger = logging.getLogger(__name__)

Message = tuple[str, dict[str, Any]]  # (group, layer message)
T = TypeVar("T")
# Runs a coroutine to completion from synchronous code: ``async_to_sync`` by default; the
# settlement's background publisher passes its own long-lived event loop, so the channel layer's
# Redis connections (kept per loop) are reused instead of reopened for every batch.
Runner = Callable[[Awaitable[Any]], Any]


@dataclass(slots=True)
class SettledFill:
    """One side of one settled trade: the ``orders_fill`` row settlement writes, with the
    attributes ``orders.payloads.fill_payload`` reads. A plain object rather than a ``Fill``
    model instance: settlement writes thousands a second and never needs the model."""

    order_id: int
    user_id: int
    pair: TradingPair
    engine_seq: int
    side: str
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    fee: Decimal
    fee_asset: Asset
    liquidity: str
    created_at: datetime
    pk: int | None = None


@dataclass(frozen=True)
class SettledBatch:
    pair: TradingPair
    orders: list[Order]
    fills: list[SettledFill]
    trades: list[TradeInput]
    sequence: int
    notifications: list[StoredNotification] = field(default_factory=list)


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


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_sync(awaitable: Awaitable[T]) -> T:
    """The default ``Runner``: ``async_to_sync`` (a fresh event loop round per call)."""
    return async_to_sync(_awaited)(awaitable)


def send_many(messages: Sequence[Message], *, run: Runner = run_sync) -> None:
    """Send ``messages`` in order, in one event-loop round (from synchronous code)."""
    if messages:
        run(_send_all(messages))


async def groups_listened(groups: Sequence[str]) -> set[str]:
    """The groups among ``groups`` that have at least one live member, in one pipelined round
    per Redis host. With another layer than ``RedisChannelLayer`` (in-memory, pub/sub) every
    group counts as listened: sending to a group without members is a no-op anyway.

    Reads the layer's own group keys the way its ``group_send`` does (members are zset entries
    scored by join time; those older than ``group_expiry`` are dead). A member that joins right
    after this check misses this batch, as it would have had it joined right after the send:
    subscribers start from a snapshot (API.md), never from the pushes before it."""
    from channels_redis.core import RedisChannelLayer

    layer = get_channel_layer()
    if not groups or layer is None:
        return set()
    if type(layer) is not RedisChannelLayer:
        return set(groups)
    by_host: dict[int, list[str]] = defaultdict(list)
    for group in dict.fromkeys(groups):
        by_host[layer.consistent_hash(group)].append(group)
    alive_after = int(time.time()) - layer.group_expiry
    listened: set[str] = set()
    for index, names in by_host.items():
        pipe = layer.connection(index).pipeline(transaction=False)
        for name in names:
            pipe.zcount(layer._group_key(name), f"({alive_after}", "+inf")
        counts = await pipe.execute()
        listened.update(name for name, count in zip(names, counts, strict=True) if count)
    return listened


class LoopRunner:
    """A ``Runner`` owning one event loop, for one thread (the settlement publisher's): the
    channel layer keeps its Redis connections per loop, so they live as long as this does."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, awaitable: Awaitable[T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(_awaited(awaitable))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


def send(group: str, channel: str, data: Any, ts_ms: int) -> None:
    send_many([(group, {"type": "push", "channel": channel, "data": data, "ts": ts_ms})])


def _notification_data(notification: Notification | StoredNotification) -> dict[str, Any]:
    return {"id": notification.pk, "kind": notification.kind, "title": notification.title,
            "data": notification.data, "read": notification.read_at is not None,
            "created_at": iso_ms(notification.created_at)}


def publish_notifications(*, notifications: Sequence[Notification | StoredNotification],
                          run: Runner = run_sync) -> None:
    """Push new notifications to their owners' ``notifications`` channel."""
    from django.utils import timezone

    if not notifications:
        return
    listened = run(groups_listened(
        [group_for("notifications", user_id=n.user_id) for n in notifications]))
    now_ms = epoch_ms(timezone.now())
    send_many([push_message("notifications", _notification_data(n), now_ms, user_id=n.user_id)
               for n in notifications
               if group_for("notifications", user_id=n.user_id) in listened], run=run)


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


def _candle_messages(*, pair: TradingPair, since: dict[str, datetime], now_ms: int,
                     listened: set[str]) -> list[Message]:
    """The candles of ``pair`` opening at or after ``since[interval]``, one message per listened
    ``candles:SYM:interval`` channel."""
    from markets.apis import CandleOut
    from realtime.selectors import candle_list_since

    symbol = pair.symbol
    wanted = {i: start for i, start in since.items()
              if group_for(f"candles:{symbol}:{i}") in listened}
    if not wanted:
        return []
    by_interval: dict[str, list[Any]] = defaultdict(list)
    for candle in candle_list_since(pair=pair, since=wanted):
        by_interval[candle.interval].append(candle)
    return [push_message(f"candles:{symbol}:{interval}",
                         CandleOut(rows, many=True, context={"pair": pair}).data, now_ms)
            for interval, rows in by_interval.items()]


def _batch_candle_messages(batch: SettledBatch, now_ms: int,
                           listened: set[str]) -> list[Message]:
    from markets.intervals import INTERVALS, bucket_start

    first = min(t.created_at for t in batch.trades)
    return _candle_messages(pair=batch.pair, since={i: bucket_start(first, i) for i in INTERVALS},
                            now_ms=now_ms, listened=listened)


def publish_candles(*, since_by_symbol: dict[str, dict[str, datetime]],
                    run: Runner = run_sync) -> int:
    """Push candles that changed outside settlement (a feed market's candles follow its price
    window: ``feeds.services.feed_candles_roll``) to the ``candles:SYM:interval`` channels
    someone listens to. ``since_by_symbol[symbol][interval]``: the earliest bucket that changed.
    One pipelined listener check for all of them; markets are read only for listened channels.
    Returns the number of messages sent. Failures are logged, not raised (the candles are
    committed; clients resync from REST)."""
    from django.utils import timezone

    from markets.models import TradingPair

    groups = [group_for(f"candles:{symbol}:{interval}")
              for symbol, since in since_by_symbol.items() for interval in since]
    if not groups:
        return 0
    try:
        listened = run(groups_listened(groups))
        if not listened:
            return 0
        symbols = {symbol for symbol, since in since_by_symbol.items()
                   if any(group_for(f"candles:{symbol}:{i}") in listened for i in since)}
        now_ms = epoch_ms(timezone.now())
        messages: list[Message] = []
        for pair in TradingPair.objects.select_related("base", "quote").filter(symbol__in=symbols):
            messages += _candle_messages(pair=pair, since=since_by_symbol[pair.symbol],
                                         now_ms=now_ms, listened=listened)
        send_many(messages, run=run)
        return len(messages)
    except Exception:  # a push is best effort: the roll-up already committed the candles
        logger.exception("candle push failed")
        return 0


def _balance_payloads(batch: SettledBatch, user_ids: set[int]) -> dict[int, list[dict[str, str]]]:
    """The market's two balances of every user in the batch, in one query."""
    from wallets.models import Balance

    pair = batch.pair
    assets = {pair.base_id: pair.base, pair.quote_id: pair.quote}
    payloads: dict[int, list[dict[str, str]]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return payloads
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


def _batch_groups(batch: SettledBatch) -> list[str]:
    """Every group a push of ``batch`` could go to."""
    from markets.intervals import INTERVALS

    symbol = batch.pair.symbol
    groups = []
    if batch.trades:
        groups.append(group_for(f"trades:{symbol}"))
        groups += [group_for(f"candles:{symbol}:{i}") for i in INTERVALS]
    for user_id in {order.user_id for order in batch.orders}:
        groups += [group_for("orders", user_id=user_id), group_for("balances", user_id=user_id)]
    groups += [group_for("fills", user_id=user_id) for user_id in {f.user_id for f in batch.fills}]
    groups += [group_for("notifications", user_id=n.user_id) for n in batch.notifications]
    return groups


def publish_settled(*, batch: SettledBatch, run: Runner = run_sync) -> None:
    """Push what one settled batch changed to the groups someone listens to (called on commit;
    failures are logged, not raised: PostgreSQL already holds the truth and clients resync from
    REST)."""
    from django.utils import timezone

    from orders.payloads import fill_payload, order_payload
    from realtime.depth import market_mark_dirty

    now_ms = epoch_ms(timezone.now())
    pair = batch.pair
    symbol = pair.symbol
    market_mark_dirty(symbol=symbol)
    listened = run(groups_listened(_batch_groups(batch)))
    if not listened:
        return
    messages: list[Message] = []
    if batch.trades and group_for(f"trades:{symbol}") in listened:
        trades = [{"id": t.sequence, "price": format_decimal(t.price, pair.price_places),
                   "quantity": format_decimal(t.quantity, pair.quantity_places),
                   "taker_side": t.taker_side, "created_at": iso_ms(t.created_at)}
                  for t in batch.trades]
        messages.append(push_message(f"trades:{symbol}", trades, now_ms))
    if batch.trades:
        messages += _batch_candle_messages(batch, now_ms, listened)

    orders_by_user: dict[int, list[Order]] = defaultdict(list)
    for order in batch.orders:
        if group_for("orders", user_id=order.user_id) in listened:
            orders_by_user[order.user_id].append(order)
    fills_by_user: dict[int, list[SettledFill]] = defaultdict(list)
    for fill in batch.fills:
        if group_for("fills", user_id=fill.user_id) in listened:
            fills_by_user[fill.user_id].append(fill)
    for user_id, orders in orders_by_user.items():
        messages.append(push_message("orders", [order_payload(o) for o in orders], now_ms,
                                     user_id=user_id))
    for user_id, fills in fills_by_user.items():
        messages.append(push_message("fills", [fill_payload(f) for f in fills], now_ms,
                                     user_id=user_id))
    balance_users = {o.user_id for o in batch.orders
                     if group_for("balances", user_id=o.user_id) in listened}
    for user_id, data in _balance_payloads(batch, balance_users).items():
        messages.append(push_message("balances", data, now_ms, user_id=user_id))
    messages += [push_message("notifications", _notification_data(n), now_ms, user_id=n.user_id)
                 for n in batch.notifications
                 if group_for("notifications", user_id=n.user_id) in listened]
    send_many(messages, run=run)
