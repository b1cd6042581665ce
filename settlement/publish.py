"""The one push point after settlement commits: order, fill, balance, trade, candle and
notification changes of a settled batch, through the push transport (``tradehive.push``).

One message per group per settled batch, sent in two rounds of the channel layer (what needs no
database read: the trade, orders and fills; then candles, balances and notifications), so a
burst of fills costs a handful of sends, not one per fill. Depth and tickers are not sent from
here: the batch only marks its market dirty and the coalescer of the websocket processes
publishes them (``realtime.depth``).

Only groups someone listens to are rendered and sent: one pipelined Redis round asks the
channel layer which of a batch's groups have live members (``listeners_get``; both rounds'
sends reuse the members it read), so a trader without an open websocket (most API clients)
costs no serialization and no sends."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from markets.intervals import INTERVALS, bucket_start
from markets.models import TradingPair
from markets.payloads import trade_payloads
from markets.publish import candle_groups, candle_messages
from markets.services import TradeInput
from notifications.payloads import notification_groups, notification_messages
from notifications.services import StoredNotification
from orders.models import Order
from orders.payloads import fill_payload, order_payload
from tradehive.money import epoch_ms
from tradehive.push import (
    FILL_HOP_SECONDS,
    Message,
    Runner,
    group_for,
    listeners_get,
    market_mark_dirty,
    push_message,
    run_sync,
    send_many,
)
from wallets.models import Asset
from wallets.payloads import balance_payloads

logger = logging.getLogger(__name__)

# What a settled batch leaves to do once it is pushed: (key, work). Work with a key runs once
# per key and publisher round, after every batch of the round is pushed (the market's 24h
# ticker: a backlog of batches recomputes it once, not once per batch); work without one runs
# right after its own batch's push (copy trading's dispatch of its intents).
FollowUp = tuple[str | None, Callable[[], object]]


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
    committed_at: datetime | None = None  # when settlement's transaction committed
    follow_ups: list[FollowUp] = field(default_factory=list)


def settled_publish_many(
    *,
    batches: Sequence[SettledBatch],
    run: Runner = run_sync,
    pushed: Callable[[], object] | None = None,
) -> None:
    """Push ``batches`` (committed, in commit order), each followed by its own follow-ups, then
    the keyed follow-ups of them all, once per key (the last batch's). ``pushed`` is called
    after each batch's push, before its follow-ups.

    The push comes first: a trader's fill is not held up by the ticker's 24h reads (four
    queries) or copy trading's dispatch, which before ran in the settling thread while the
    push ran in the publisher's and the two took turns at the interpreter. A failure is logged,
    never raised: PostgreSQL already holds the truth, clients resync from REST, and the
    ticker's cache expires."""
    keyed: dict[str, Callable[[], object]] = {}
    for batch in batches:
        try:
            publish_settled(batch=batch, run=run)
        except Exception:
            logger.exception(
                "publishing settled batch %s of %s failed", batch.sequence, batch.pair.symbol
            )
        if pushed is not None:
            pushed()
        for key, work in batch.follow_ups:
            if key is None:
                _follow_up_run(work)
            else:
                keyed.pop(key, None)  # runs in the order of its last batch
                keyed[key] = work
    for work in keyed.values():
        _follow_up_run(work)


def _follow_up_run(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        logger.exception("a settled batch's follow-up failed")


def _batch_candle_messages(batch: SettledBatch, now_ms: int, listened: set[str]) -> list[Message]:
    first = min(t.created_at for t in batch.trades)
    return candle_messages(
        pair=batch.pair,
        since={i: bucket_start(first, i) for i in INTERVALS},
        now_ms=now_ms,
        listened=listened,
    )


def _batch_groups(batch: SettledBatch) -> list[str]:
    """Every group a push of ``batch`` could go to."""
    symbol = batch.pair.symbol
    groups = []
    if batch.trades:
        groups.append(group_for(f"trades:{symbol}"))
        groups += candle_groups(symbol)
    for user_id in {order.user_id for order in batch.orders}:
        groups += [group_for("orders", user_id=user_id), group_for("balances", user_id=user_id)]
    groups += [group_for("fills", user_id=user_id) for user_id in {f.user_id for f in batch.fills}]
    groups += notification_groups(batch.notifications)
    return groups


def publish_settled(*, batch: SettledBatch, run: Runner = run_sync) -> None:
    """Push what one settled batch changed to the groups someone listens to (called on commit;
    failures are logged, not raised: PostgreSQL already holds the truth and clients resync from
    REST)."""
    now_ms = epoch_ms(timezone.now())
    pair = batch.pair
    symbol = pair.symbol
    listeners = run(listeners_get(_batch_groups(batch)))
    listened = listeners.groups
    if not listened:
        market_mark_dirty(symbol=symbol, ticker=not batch.trades)
        return
    messages: list[Message] = []
    if batch.trades and group_for(f"trades:{symbol}") in listened:
        messages.append(
            push_message(f"trades:{symbol}", trade_payloads(pair, batch.trades), now_ms)
        )

    orders_by_user: dict[int, list[Order]] = defaultdict(list)
    for order in batch.orders:
        if group_for("orders", user_id=order.user_id) in listened:
            orders_by_user[order.user_id].append(order)
    fills_by_user: dict[int, list[SettledFill]] = defaultdict(list)
    for fill in batch.fills:
        if group_for("fills", user_id=fill.user_id) in listened:
            fills_by_user[fill.user_id].append(fill)
    for user_id, orders in orders_by_user.items():
        messages.append(
            push_message("orders", [order_payload(o) for o in orders], now_ms, user_id=user_id)
        )
    for user_id, fills in fills_by_user.items():
        messages.append(
            push_message("fills", [fill_payload(f) for f in fills], now_ms, user_id=user_id)
        )
    # What needs no database read goes first: the trade, the orders and the fills are not held
    # back by the candles' and the balances' queries (about 2 ms of a one-fill batch). A
    # user's lane still sees its messages in settlement's order: orders and fills, then
    # balances and notifications.
    send_many(messages, run=run, listeners=listeners)
    if batch.committed_at is not None and messages:
        pushed = (timezone.now() - batch.committed_at).total_seconds()
        FILL_HOP_SECONDS.labels("settled_to_pushed").observe(max(pushed, 0.0))
    # The book's change goes to the coalescer after the trade and the private messages, not
    # before them (a Redis round trip they need not wait for; depth is coalesced anyway).
    market_mark_dirty(symbol=symbol, ticker=not batch.trades)
    messages = _batch_candle_messages(batch, now_ms, listened) if batch.trades else []
    balance_users = {
        o.user_id for o in batch.orders if group_for("balances", user_id=o.user_id) in listened
    }
    assets = {pair.base_id: pair.base, pair.quote_id: pair.quote}
    for user_id, data in balance_payloads(user_ids=balance_users, assets=assets).items():
        messages.append(push_message("balances", data, now_ms, user_id=user_id))
    messages += notification_messages(batch.notifications, now_ms, listened)
    send_many(messages, run=run, listeners=listeners)
