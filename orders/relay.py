"""Orders handed to the engine: after placement commits (``order_submit``) and again by the
outbox relay for rows the engine has not acknowledged (a crash between commit and submit, or
Redis down). Submission is idempotent (the engine ignores ids it has seen)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from functools import partial

import redis
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from engine.engine import EngineOrder, EngineStateMissing, InvalidEngineOrder
from engine.runtime import get_engine
from engine.units import OffGrid
from markets.models import TradingPair
from orders.engine_orders import engine_order_for, order_quarantine_reason
from orders.models import CancelReason, Order, OrderOutbox, OrderStatus, OrderType
from orders.quarantine import order_quarantine
from orders.terms import market_price_source

logger = logging.getLogger(__name__)


# Rebuilds a market's engine state from PostgreSQL (``settlement.recovery.engine_recover``,
# registered by ``SettlementConfig.ready``): settlement sits above orders, so orders asks
# through this hook instead of importing it.
MarketRecoverer = Callable[[TradingPair], object]


_market_recover: MarketRecoverer | None = None


def market_recoverer_set(recover: MarketRecoverer | None) -> None:
    """Register ``recover(pair)``, which rebuilds ``pair``'s engine state when it is missing."""
    global _market_recover
    _market_recover = recover


def order_submit(
    *, order_id: int, order: Order | None = None, engine_price: Decimal | None = None
) -> bool:
    """Hand an order to the engine (after its transaction committed). Idempotent.

    Returns False when the engine could not be reached (the outbox relay retries). A market whose
    engine state is missing is recovered from PostgreSQL first. An order the engine can never
    take is quarantined (``order_quarantine``: rejected, its hold released) and True returned:
    at once when its values do not convert (off the market's grid or the engine's range), after
    ``SUBMIT_REFUSALS_MAX`` attempts when the engine's scripts refuse it."""
    if order is None:  # the relay; right after placement the caller passes the fresh order
        order = Order.objects.select_related("pair", "pair__base", "pair__quote").get(pk=order_id)
    if order.status != OrderStatus.PENDING:
        return True
    try:
        engine_order = engine_order_for(order, engine_price=engine_price)
        engine_order.check()
    except (OffGrid, InvalidEngineOrder) as exc:
        order_quarantine(order_id=order_id, reason=order_quarantine_reason(exc), detail=str(exc))
        return True
    engine = get_engine()
    submit = engine.submit
    # Market orders of feed-priced markets fill against the house at the latest observation
    # (docs/feeds.md).
    if order.pair.is_feed_priced and order.type == OrderType.MARKET:
        submit = partial(
            engine.feed_take, stale_after_ms=market_price_source(order.pair).stale_after_ms()
        )
    try:
        try:
            submit(order.pair.symbol, engine_order)
        except EngineStateMissing:
            if _market_recover is None:  # no recovery registered: the relay retries later
                _outbox_attempt(order_id)
                return False
            try:
                _market_recover(order.pair)
            except Exception:  # the market's rebuild failed, not this order: the relay retries
                logger.exception(
                    "engine recovery of %s failed; order %s waits in the outbox",
                    order.pair.symbol,
                    order_id,
                )
                _outbox_attempt(order_id)
                return False
            submit(order.pair.symbol, engine_order)
    except redis.ResponseError as exc:
        # The engine's script ran and refused this order (a Lua assert): the same order will be
        # refused again, so it is retried a few times (a passing condition such as OOM clears),
        # then quarantined.
        attempts = _outbox_attempt(order_id)
        logger.warning("engine refused order %s (attempt %d): %s", order_id, attempts, exc)
        if attempts >= SUBMIT_REFUSALS_MAX:
            order_quarantine(order_id=order_id, reason=CancelReason.ENGINE_REFUSED, detail=str(exc))
            return True
        return False
    except redis.RedisError:
        logger.exception("engine submit of order %s failed; the relay will retry", order_id)
        _outbox_attempt(order_id)
        return False
    return True


# Refusals by the engine's scripts before an order is quarantined (the relay tries about once a
# second, so a refusal that lasts ten seconds).
SUBMIT_REFUSALS_MAX = 10


def _outbox_attempt(order_id: int) -> int:
    """Count one failed submission of ``order_id``; returns the attempts so far."""
    with transaction.atomic():
        updated = OrderOutbox.objects.filter(order_id=order_id).update(attempts=F("attempts") + 1)
        if not updated:
            return 0
        return OrderOutbox.objects.values_list("attempts", flat=True).get(order_id=order_id)


def outbox_relay(*, older_than_s: float = 2.0, limit: int = 500) -> int:
    """Re-submit orders whose outbox row is older than ``older_than_s`` (the engine has not
    acknowledged them: a crash between commit and submit, or Redis was down). Returns how many.

    One row never holds up the others: rows that failed least go first, a row the engine can
    never take is quarantined (``order_submit``), and an unexpected error on one row is logged
    and counted on the row while the relay goes on with the next."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    order_ids = list(
        OrderOutbox.objects.filter(created_at__lt=cutoff, quarantined_at__isnull=True)
        .order_by("attempts", "order_id")
        .values_list("order_id", flat=True)[:limit]
    )
    for order_id in order_ids:
        try:
            order_submit(order_id=order_id)
        except Exception:  # any one row's failure: log it and move on to the next
            logger.exception("relay of order %s failed; it stays in the outbox", order_id)
            _outbox_attempt(order_id)
    return len(order_ids)


def orders_submit_many(*, orders: Sequence[tuple[Order, Decimal | None]]) -> None:
    """Hand many just-committed orders (with their engine prices) to the engine in pipelined
    batches (``Engine.submit_many``). Orders that do not convert are quarantined one by one;
    if the batch cannot go through (a market without engine state, Redis refusing), each order
    takes ``order_submit``'s path (recovery, retries, the outbox). Idempotent, as submits are."""
    batch: list[tuple[str, EngineOrder]] = []
    for order, engine_price in orders:
        if order.pair.is_feed_priced and order.type == OrderType.MARKET:  # the house takes it
            order_submit(order_id=order.pk, order=order, engine_price=engine_price)
            continue
        try:
            engine_order = engine_order_for(order, engine_price=engine_price)
            engine_order.check()
        except (OffGrid, InvalidEngineOrder) as exc:
            order_quarantine(
                order_id=order.pk, reason=order_quarantine_reason(exc), detail=str(exc)
            )
            continue
        batch.append((order.pair.symbol, engine_order))
    if not batch:
        return
    try:
        get_engine().submit_many(batch)
    except (EngineStateMissing, redis.RedisError):
        logger.warning("batch submit of %d orders failed; submitting one by one", len(batch))
        for order, engine_price in orders:
            order_submit(order_id=order.pk, order=order, engine_price=engine_price)
