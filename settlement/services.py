"""Settlement: apply each market's engine events to PostgreSQL exactly once, in order.

A consumer (``python manage.py settle``, one or more processes) loops over the markets. For one
market it takes a short Redis lease (so one consumer works a market at a time), claims entries
left pending by a crashed consumer (XAUTOCLAIM), else reads new ones (XREADGROUP), and applies the
batch in ONE transaction: the market's ``MarketCursor`` row is locked and only events with
``seq == last_seq + 1, ...`` are applied, so redelivered events are skipped and an out-of-order
batch is refused (and retried). Then it acknowledges the entries (XACK). A crash after commit and
before XACK redelivers events whose seq is already applied: they are skipped.

Per fill (at the maker's price): the seller's locked base goes to the buyer's available, the
buyer's locked quote (price x quantity + the buyer's fee) to the seller's available less the
seller's fee, and both fees to the fee account; the orders' filled quantity, quote, fee and
remaining hold move; a public ``Trade`` and one ``Fill`` per side are written; candles and the
ticker follow. Fees are charged in the quote asset, rounded down to its decimals. When an order
leaves the engine (``done``/``rejected``) whatever it still holds is released.

Feed fills (docs/feeds.md): a fill whose maker or taker is ``house`` (owner 0) trades the user's
order against the house liquidity account (``wallet_system_account(kind="house")``): the house
gives or takes from its *available* balance, pays no fee, and gets no ``Fill`` row; the user's
side is settled exactly as above (maker or taker fee by its role). The house is funded from the
external account (``seed_demo``); it never goes negative (``ledger_post`` refuses)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from functools import partial

import redis
from django.db import connection, transaction
from django.utils import timezone

from engine import events as ev
from engine.engine import HOUSE_ORDER_ID
from engine.keys import events_key
from engine.runtime import get_engine
from markets.models import TradingPair
from markets.services import TradeInput, ticker_refresh_pushed, trades_record
from notifications.services import notifications_store
from orders.models import MARKET_TYPES, TRIGGER_TYPES, Fill, Order, OrderStatus, Side
from settlement.metrics import BATCH_SECONDS, EVENTS_APPLIED, FILLS_SETTLED
from settlement.models import MarketCursor
from settlement.notifications import order_notifications
from settlement.publish import FollowUp, SettledBatch, SettledFill, settled_publish_many
from settlement.sql import (
    BATCH_END,
    CURSOR_LOCK,
    CURSOR_LOCK_ATTNAMES,
    FILLS_INSERT,
    ORDERS_LOCK,
    ORDERS_LOCK_ATTNAMES,
)
from tradehive.push import FILL_HOP_SECONDS
from tradehive.sql import prepared_cursor
from wallets.ledger import Leg, Posting, ledger_post
from wallets.models import JournalTransaction
from wallets.services import wallet_system_account

logger = logging.getLogger(__name__)

GROUP = "settlement"
LEASE_SECONDS = 10

_ZERO = Decimal(0)
# Enum members as plain constants: the per-fill code reads them thousands of times a second.
_TRADE = JournalTransaction.Kind.TRADE.value
_BUY = Side.BUY.value
_MAKER, _TAKER = Fill.Liquidity.MAKER.value, Fill.Liquidity.TAKER.value
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED.value
_NOT_YET_TRADED = frozenset(
    {OrderStatus.PENDING.value, OrderStatus.OPEN.value, OrderStatus.UNTRIGGERED.value}
)


def _publish_now(batch: SettledBatch) -> None:
    settled_publish_many(batches=[batch])


# What runs after a batch commits: its push, then its follow-ups (``SettledBatch.follow_ups``;
# a publisher must run both, ``settled_publish_many`` does). In-line by default; the ``settle``
# process installs a background publisher so pushing to websockets and the follow-ups never
# hold up the next batch.
_publisher: Callable[[SettledBatch], None] = _publish_now


def settlement_publisher_set(publisher: Callable[[SettledBatch], None] | None) -> None:
    global _publisher
    _publisher = publisher or _publish_now


# Called inside the settling transaction, after the batch's fills are inserted (ids set), with
# the market and those fills: an app above settlement records what it derives from fills
# atomically with them (copy trading's intents), so a crash can neither lose nor repeat it. A
# listener must be quick (it runs in every batch) and returns what to do after commit, if
# anything (run by the publisher right after the batch's push). Registered in the upper app's
# ``AppConfig.ready``.
FillsListener = Callable[[TradingPair, list[SettledFill]], Callable[[], object] | None]
_fills_listeners: list[FillsListener] = []


def settled_fills_listener_add(listener: FillsListener) -> None:
    if listener not in _fills_listeners:
        _fills_listeners.append(listener)


def settled_fills_listener_remove(listener: FillsListener) -> None:
    if listener in _fills_listeners:
        _fills_listeners.remove(listener)


class SettlementGap(RuntimeError):
    """A batch does not continue the market's applied sequence: retried later, never applied."""


@dataclass
class SettleOutcome:
    applied: int = 0
    fills: int = 0
    last_price_ticks: int | None = None
    batch: SettledBatch | None = None
    drained: bool = False  # the stream had nothing new or pending for this consumer
    last_entry_id: str | None = None  # the newest stream entry of the batch


@dataclass
class _Batch:
    pair: TradingPair
    orders: dict[int, Order]
    fee_account_id: int
    account_ids: dict[int, int]  # user id -> wallet account id
    postings: list[Posting] = field(default_factory=list)
    fills: list[SettledFill] = field(default_factory=list)
    trades: list[TradeInput] = field(default_factory=list)
    acknowledged: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    triggered: list[int] = field(default_factory=list)
    house_account_id: int | None = None  # set when the batch has feed (house) fills
    quote_quantum: Decimal = field(init=False)  # the quote asset's smallest unit

    def __post_init__(self) -> None:
        self.quote_quantum = Decimal(1).scaleb(-self.pair.quote.decimals)


def _event_order_ids(events: Sequence[ev.Event]) -> set[int]:
    ids: set[int] = set()
    for event in events:
        if isinstance(event, ev.Fill):
            ids.update(
                int(i) for i in (event.maker_order_id, event.taker_order_id) if i != HOUSE_ORDER_ID
            )
        elif isinstance(event, ev.Accepted | ev.Done | ev.Rejected | ev.Triggered):
            ids.add(int(event.order_id))
    return ids


def _moment(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def _fee(amount: Decimal, rate: Decimal, quantum: Decimal) -> Decimal:
    return (amount * rate).quantize(quantum, rounding=ROUND_DOWN)


def _legs(*legs: Leg) -> list[Leg]:
    return [leg for leg in legs if leg.amount]  # a zero fee or a house side moves nothing


def _release(batch: _Batch, order: Order) -> None:
    """Give back whatever ``order`` still holds (it has left the engine)."""
    amount = order.hold_remaining
    if amount <= 0:
        return
    pair = batch.pair
    asset_id = pair.quote_id if order.side == Side.BUY else pair.base_id
    account_id = batch.account_ids[order.user_id]
    batch.postings.append(
        Posting(
            kind=JournalTransaction.Kind.RELEASE,
            reference=f"order:{order.pk}",
            legs=[
                Leg(account_id, asset_id, "locked", -amount),
                Leg(account_id, asset_id, "available", amount),
            ],
        )
    )
    order.hold_remaining = Decimal(0)


def _fill_order(batch: _Batch, order_id: str) -> Order | None:
    """The order of one side of a fill; None for the house (a feed fill's counterparty)."""
    return None if order_id == HOUSE_ORDER_ID else batch.orders[int(order_id)]


def _apply_fill(batch: _Batch, event: ev.Fill) -> None:
    pair = batch.pair
    maker = _fill_order(batch, event.maker_order_id)
    taker = _fill_order(batch, event.taker_order_id)
    price = event.price * pair.tick_size
    quantity = event.quantity * pair.lot_size
    quote = price * quantity
    quantum = batch.quote_quantum
    if quote != quote.quantize(quantum):
        raise ValueError(
            f"{pair.symbol}: fill {event.seq} quote {quote} is finer than "
            f"{pair.quote.symbol}'s {pair.quote.decimals} decimals "
            "(tick x lot off grid)"
        )
    buyer, seller = (taker, maker) if event.taker_side == _BUY else (maker, taker)
    buyer_rate = pair.taker_fee if buyer is taker else pair.maker_fee
    seller_rate = pair.taker_fee if seller is taker else pair.maker_fee
    # The house (None) pays no fee and trades from its available balance, having no hold.
    buyer_fee = _fee(quote, buyer_rate, quantum) if buyer is not None else _ZERO
    seller_fee = _fee(quote, seller_rate, quantum) if seller is not None else _ZERO
    buyer_account, buyer_bucket = _fill_account(batch, buyer)
    seller_account, seller_bucket = _fill_account(batch, seller)
    batch.postings.append(
        Posting(
            kind=_TRADE,
            reference=f"trade:{pair.symbol}:{event.seq}",
            legs=_legs(
                Leg(seller_account, pair.base_id, seller_bucket, -quantity),
                Leg(buyer_account, pair.base_id, "available", quantity),
                Leg(buyer_account, pair.quote_id, buyer_bucket, -(quote + buyer_fee)),
                Leg(seller_account, pair.quote_id, "available", quote - seller_fee),
                Leg(batch.fee_account_id, pair.quote_id, "available", buyer_fee + seller_fee),
            ),
        )
    )
    for order, fee, consumed in (
        (buyer, buyer_fee, quote + buyer_fee),
        (seller, seller_fee, quantity),
    ):
        if order is None:
            continue
        order.filled_quantity += quantity
        order.filled_quote += quote
        order.fee_paid += fee
        order.hold_remaining -= consumed
        if order.hold_remaining < 0:
            raise ValueError(f"order {order.pk} consumed more than it held (fill {event.seq})")
        if order.status in _NOT_YET_TRADED:
            order.status = _PARTIALLY_FILLED
        batch.touched.add(order.id)
    created = _moment(event.ts_ms)
    for order, fee, liquidity in (
        (maker, buyer_fee if maker is buyer else seller_fee, _MAKER),
        (taker, buyer_fee if taker is buyer else seller_fee, _TAKER),
    ):
        if order is None:
            continue
        batch.fills.append(
            SettledFill(
                order.id,
                order.user_id,
                pair,
                event.seq,
                order.side,
                price,
                quantity,
                quote,
                fee,
                pair.quote,
                liquidity,
                created,
            )
        )
    batch.trades.append(
        TradeInput(
            sequence=event.seq,
            price=price,
            quantity=quantity,
            taker_side=event.taker_side,
            created_at=created,
            quote_quantity=quote,
            maker_order_id=maker.id if maker is not None else None,
            taker_order_id=taker.id if taker is not None else None,
        )
    )


def _fill_account(batch: _Batch, order: Order | None) -> tuple[int, str]:
    """(wallet account id, bucket paid from) of one side: a user's hold, or the house's
    available balance."""
    if order is not None:
        return batch.account_ids[order.user_id], "locked"
    if batch.house_account_id is None:
        batch.house_account_id = wallet_system_account(kind="house").pk
    return batch.house_account_id, "available"


def _apply(batch: _Batch, event: ev.Event) -> None:
    if isinstance(event, ev.Fill):
        _apply_fill(batch, event)
        return
    if isinstance(event, ev.SelfTradePrevented | ev.CancelRejected):
        return  # informational: the done events of expired orders follow
    order = batch.orders[int(event.order_id)]
    batch.touched.add(order.pk)
    if isinstance(event, ev.Accepted):
        batch.acknowledged.add(order.pk)
        order.engine_seq = event.seq
        if order.status == OrderStatus.PENDING:
            trigger = order.type in TRIGGER_TYPES
            order.status = OrderStatus.UNTRIGGERED if trigger else OrderStatus.OPEN
    elif isinstance(event, ev.Triggered):
        order.engine_seq = event.seq
        if order.status == OrderStatus.UNTRIGGERED:
            order.status = OrderStatus.OPEN
        batch.triggered.append(order.pk)
    elif isinstance(event, ev.Done):
        _release(batch, order)
        if event.reason == "filled":
            order.status = OrderStatus.FILLED
        else:
            order.status = OrderStatus.CANCELLED
            reason = event.reason
            # A market type's remainder ends "ioc" in the engine (a buy by quantity runs as an
            # IOC limit at its protective price): to the user that is missing liquidity.
            if reason == "ioc" and order.type in MARKET_TYPES:
                reason = "insufficient_liquidity"
            order.cancel_reason = reason
    elif isinstance(event, ev.Rejected):
        batch.acknowledged.add(order.pk)
        _release(batch, order)
        order.status = OrderStatus.REJECTED
        order.cancel_reason = event.reason


def _orders_lock(
    pair: TradingPair, order_ids: set[int]
) -> tuple[dict[int, Order], dict[int, int], int | None]:
    """SELECT ... FOR UPDATE the orders a batch names, in primary-key order (caller holds the
    market's cursor row lock), each with ``pair`` set to the batch's (no query per order).
    Returns the orders by id, their owners' wallet account ids (user id -> account id) and the
    fee account's id (None until it exists), all read by the one statement. Raises ValueError
    if PostgreSQL lacks any of the orders.

    The ids go as one array and the rows become ``Order`` instances through
    ``from_db`` (what the ORM does, without compiling an IN list of a thousand placeholders
    and quoting them on the client: that cost 40 us an order)."""
    set_pair = Order._meta.get_field("pair").set_cached_value  # type: ignore[union-attr]
    with prepared_cursor() as cursor:
        cursor.execute(ORDERS_LOCK, [sorted(order_ids)])
        rows = cursor.fetchall()
    names = ORDERS_LOCK_ATTNAMES
    width = len(names)
    orders = {}
    account_ids: dict[int, int] = {}
    fee_account_id = None
    for row in rows:
        order = Order.from_db(connection.alias, names, row[:width])
        orders[order.pk] = order
        # Every user with an order has an account: order_place created it with the hold.
        account_ids[order.user_id] = row[width]
        fee_account_id = row[width + 1]
    for order in orders.values():
        set_pair(order, pair)
    missing = order_ids - orders.keys()
    if missing:
        # Orders the engine has but PostgreSQL does not: never settle money for them.
        raise ValueError(f"{pair.symbol}: events name unknown orders {sorted(missing)[:5]}")
    return orders, account_ids, fee_account_id


def _cursor_lock(pair: TradingPair) -> MarketCursor:
    """The market's cursor row, locked: one statement once it exists (every batch but the
    market's first), created first otherwise."""
    with prepared_cursor() as db:
        db.execute(CURSOR_LOCK, [pair.pk])
        row = db.fetchone()
    if row is None:
        MarketCursor.objects.get_or_create(pair=pair)
        return MarketCursor.objects.select_for_update().get(pair=pair)
    return MarketCursor.from_db(connection.alias, CURSOR_LOCK_ATTNAMES, row)


def settle_events(*, pair: TradingPair, events: Sequence[ev.Event]) -> SettleOutcome:
    """Apply ``events`` (one market's, in stream order) exactly once. Owns the transaction.

    Events at or below the market's cursor are skipped; the rest must continue it without a gap
    (``SettlementGap`` otherwise: nothing is written). Lock order: the cursor row, then the
    orders by primary key, then balances (inside ``ledger_post``, by primary key)."""
    outcome = SettleOutcome()
    pipelined = _pipelined() if len(events) <= PIPELINE_MAX_EVENTS else nullcontext()
    with transaction.atomic(), pipelined:
        cursor = _cursor_lock(pair)
        todo = sorted((e for e in events if e.seq > cursor.last_seq), key=lambda e: e.seq)
        if not todo:
            return outcome
        expected = cursor.last_seq + 1
        for event in todo:
            if event.seq != expected:
                raise SettlementGap(f"{pair.symbol}: expected seq {expected}, got {event.seq}")
            expected += 1

        # The push is registered as the first after-commit hook, so the fill reaches its trader
        # before the other after-commit work (the 24h ticker's recompute, the fills listeners'
        # follow-ups: together about 6 ms of a one-fill batch) instead of after it.
        settled_batches: list[SettledBatch] = []
        transaction.on_commit(partial(_settled_committed, settled_batches), robust=True)
        orders, account_ids, fee_account_id = _orders_lock(pair, _event_order_ids(todo))
        if fee_account_id is None:  # the exchange's first fills: the fee account is created
            fee_account_id = wallet_system_account(kind="fee").pk
        batch = _Batch(
            pair=pair,
            orders=orders,
            account_ids=account_ids,
            fee_account_id=fee_account_id,
        )
        for event in todo:
            _apply(batch, event)
            if isinstance(event, ev.Fill):
                outcome.fills += 1
                outcome.last_price_ticks = event.price

        ledger_post(postings=batch.postings)
        _fills_insert(batch.fills)
        follow_ups: list[FollowUp] = []
        if batch.fills:
            for listener in _fills_listeners:
                after_commit = listener(pair, batch.fills)
                if after_commit is not None:
                    follow_ups.append((None, after_commit))
        trades_record(pair=pair, trades=batch.trades, ticker_on_commit=False)
        if batch.trades:
            # Once per market and publisher round (``FollowUp``): the 24h figures are read
            # from the database as they are when it runs.
            follow_ups.append((f"ticker:{pair.symbol}", partial(ticker_refresh_pushed, pair=pair)))
        touched = [orders[pk] for pk in sorted(batch.touched)]
        cursor.last_seq = todo[-1].seq
        _batch_end(cursor, touched, batch.acknowledged)
        outcome.applied = len(todo)
        settled = SettledBatch(
            pair=pair,
            orders=touched,
            fills=batch.fills,
            trades=batch.trades,
            sequence=cursor.last_seq,
            follow_ups=follow_ups,
        )
        settled.notifications.extend(notifications_store(items=order_notifications(batch=settled)))
        outcome.batch = settled
        settled_batches.append(settled)
    return outcome


# Batches of at most this many events run pipelined (``_pipelined``): an idle exchange's batches
# (a fill is four events) and those under a light load. A backlog's large batches do not: their
# round trips are a small part of their work, and the drain of bench/orders.py measured slower
# pipelined (docs/decisions.md "The fifth round").
PIPELINE_MAX_EVENTS = 32


@contextmanager
def _pipelined() -> Iterator[None]:
    """Run the batch's statements in psycopg's pipeline mode: each is sent without waiting for
    the answer of the one before, and the client waits only where it reads a result (the
    locks, the ids the inserts return). Writes that return nothing (the balances' update, the
    ledger entries, the trade, the candles, the orders' progress) no longer cost a round trip
    each, and the client's work on the next statement overlaps the server's on the last one.
    An error surfaces at the next read or at the block's end, as Django's exception (the
    database errors are translated here), and the transaction rolls back as before."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


def _settled_committed(batches: list[SettledBatch]) -> None:
    """After commit: time each fill's first hop (the engine's match to here), then push. The
    batch is handed over in a list, filled at the end of the transaction, because the hook is
    registered at its start."""
    if not batches:
        return
    batch = batches[0]
    committed = timezone.now()
    hop = FILL_HOP_SECONDS.labels("engine_to_settled")
    for fill in batch.fills:
        hop.observe(max((committed - fill.created_at).total_seconds(), 0.0))
    _publisher(replace(batch, committed_at=committed))


def _fills_insert(fills: list[SettledFill]) -> None:
    """Insert ``fills`` and set their ids in one statement fed by arrays (the
    model-instance path of ``bulk_create`` cost more than the database work)."""
    if not fills:
        return
    with prepared_cursor() as cursor:
        cursor.execute(
            FILLS_INSERT,
            [
                [f.order_id for f in fills],
                [f.user_id for f in fills],
                [f.pair.pk for f in fills],
                [f.engine_seq for f in fills],
                [f.side for f in fills],
                [f.price for f in fills],
                [f.quantity for f in fills],
                [f.quote_quantity for f in fills],
                [f.fee for f in fills],
                [f.fee_asset.pk for f in fills],
                [f.liquidity for f in fills],
                [f.created_at for f in fills],
            ],
        )
        for fill, (fill_id,) in zip(fills, cursor.fetchall(), strict=True):
            fill.pk = fill_id


_ORDER_PROGRESS = (
    "status",
    "cancel_reason",
    "filled_quantity",
    "filled_quote",
    "fee_paid",
    "hold_remaining",
    "engine_seq",
    "updated_at",
)


def _batch_end(cursor: MarketCursor, orders: list[Order], acknowledged: set[int]) -> None:
    """Write the settled fields of ``orders`` (rows the caller has locked), delete the outbox
    rows of the ``acknowledged`` orders and move the market's ``cursor`` to its ``last_seq``
    (clearing a failure): one statement (``BATCH_END``), where the ORM took three.

    Django's ``bulk_update`` builds a CASE per field and row, which dominated settlement; one
    ``UPDATE ... FROM unnest(...)`` does the same work."""
    now = timezone.now()
    for order in orders:
        order.updated_at = now
    cursor.updated_at, cursor.failing_since, cursor.last_error = now, None, ""
    with prepared_cursor() as db:
        db.execute(
            BATCH_END,
            (
                [o.pk for o in orders],
                [o.status for o in orders],
                [o.cancel_reason for o in orders],
                [o.filled_quantity for o in orders],
                [o.filled_quote for o in orders],
                [o.fee_paid for o in orders],
                [o.hold_remaining for o in orders],
                [o.engine_seq for o in orders],
                [o.updated_at for o in orders],
                sorted(acknowledged),
                cursor.last_seq,
                now,
                cursor.pk,
            ),
        )


def settle_failure_record(*, pair: TradingPair, error: BaseException) -> int:
    """Count a batch of ``pair`` that could not be applied (its transaction rolled back, so
    nothing of it was written) on the market's cursor: ``failures`` + 1, ``failing_since`` set
    if not yet, ``last_error``. Its own transaction. Returns the failures so far."""
    now = timezone.now()
    with transaction.atomic():
        MarketCursor.objects.get_or_create(pair=pair)
        cursor = MarketCursor.objects.select_for_update().get(pair=pair)
        cursor.failures += 1
        cursor.failing_since = cursor.failing_since or now
        cursor.last_error = f"{type(error).__name__}: {error}"[:500]
        cursor.save(update_fields=["failures", "failing_since", "last_error", "updated_at"])
    return cursor.failures


# --- the consumer --------------------------------------------------------------------------------


def settlement_group_ensure(client: redis.Redis, symbol: str) -> None:
    """Create the consumer group (and the stream) if missing; from the stream's start."""
    try:
        client.xgroup_create(events_key(symbol), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(
    client: redis.Redis, symbol: str, consumer: str, count: int
) -> list[tuple[str, dict[str, str]]]:
    """The entries to settle next: those another (crashed) consumer read but never
    acknowledged, oldest first, else new ones. Both reads go in one pipeline (one round trip):
    new entries read while claimed ones are returned stay pending for this consumer, and the
    next call's XAUTOCLAIM returns them, in order."""
    key = events_key(symbol)
    pipe = client.pipeline(transaction=False)
    pipe.xautoclaim(key, GROUP, consumer, min_idle_time=0, start_id="0-0", count=count)
    pipe.xreadgroup(GROUP, consumer, {key: ">"}, count=count)
    claimed, answer = pipe.execute()
    entries = [entry for entry in claimed[1] if entry and entry[1]]
    if entries:
        return entries
    return answer[0][1] if answer else []


def settle_market(
    *, pair: TradingPair, consumer: str, count: int = 1000, client: redis.Redis | None = None
) -> SettleOutcome:
    """Settle up to ``count`` pending events of one market, if no other consumer holds it."""
    from tradehive.redis_client import get_redis

    client = client or get_redis()
    symbol = pair.symbol
    lease = client.lock(f"settle-lease:{{{symbol}}}", timeout=LEASE_SECONDS, blocking=False)
    if not lease.acquire():
        return SettleOutcome()
    try:
        try:
            entries = _read(client, symbol, consumer, count)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            settlement_group_ensure(client, symbol)
            entries = _read(client, symbol, consumer, count)
        if not entries:
            return SettleOutcome(drained=True)
        events = [event for _, fields in entries for event in ev.parse_entry(fields)]
        started = time.perf_counter()
        outcome = settle_events(pair=pair, events=events)
        last = entries[-1][0]
        outcome.last_entry_id = last.decode() if isinstance(last, bytes) else last
        client.xack(events_key(symbol), GROUP, *[entry_id for entry_id, _ in entries])
        BATCH_SECONDS.observe(time.perf_counter() - started)
        if outcome.applied:
            EVENTS_APPLIED.labels(market=symbol).inc(outcome.applied)
        if outcome.fills:
            FILLS_SETTLED.labels(market=symbol).inc(outcome.fills)
        if outcome.last_price_ticks is not None and pair.price_source == TradingPair.BOOK:
            get_engine().trigger(symbol, outcome.last_price_ticks)
        return outcome
    finally:
        try:
            lease.release()
        except redis.exceptions.LockError:
            logger.warning("settlement lease of %s expired while settling", symbol)
