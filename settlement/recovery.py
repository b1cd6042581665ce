"""Recovery: rebuild a market's engine state from PostgreSQL's open orders.

Used when the engine epoch of a market is missing (a flushed/restarted Redis, or a new market)
and by ``python manage.py engine_rebuild``. The market's ``MarketCursor`` row is locked while the
open orders are read and the book is rebuilt, so no settlement batch of that market commits in
between; the rebuilt sequence continues from the last applied one."""

from __future__ import annotations

import logging

from django.db import transaction

from engine.engine import InvalidEngineOrder, RestingOrder
from engine.keys import seq_key
from engine.runtime import get_engine
from engine.units import OffGrid, quantity_to_lots
from markets.models import TradingPair
from orders.engine_orders import engine_order_for, order_quarantine_reason
from orders.models import OrderStatus
from orders.quarantine import order_quarantine
from orders.selectors import open_orders_for_rebuild
from settlement.models import MarketCursor
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


class UnsettledEvents(RuntimeError):
    """A forced rebuild was asked for while the engine has events settlement has not applied."""


def engine_recover(*, pair: TradingPair, force: bool = False) -> str | None:
    """Rebuild ``pair``'s book and stop sets unless it already has engine state (or ``force``).

    Returns the new epoch, or None when nothing was done. With ``force`` the caller must have
    settled every event of the market first (``engine_rebuild`` does), or the rebuilt book would
    miss fills that settlement is about to apply."""
    engine = get_engine()
    symbol = pair.symbol
    with transaction.atomic():
        MarketCursor.objects.get_or_create(pair=pair)
        cursor = MarketCursor.objects.select_for_update().get(pair=pair)
        if not force and engine.has_state(symbol):
            return None
        if force:
            engine_seq = int(get_redis().get(seq_key(symbol)) or 0)
            if engine_seq > cursor.last_seq:
                raise UnsettledEvents(
                    f"{symbol}: events up to {engine_seq} are not settled yet "
                    f"(applied: {cursor.last_seq}); settle them first"
                )
        resting = []
        for order in open_orders_for_rebuild(pair=pair):
            untriggered = order.status == OrderStatus.UNTRIGGERED
            try:
                remaining = None
                if not untriggered:
                    assert order.quantity is not None
                    remaining = quantity_to_lots(
                        order.quantity - order.filled_quantity, pair.lot_size
                    )
                engine_order = engine_order_for(order)
                engine_order.check()
            except (OffGrid, InvalidEngineOrder) as exc:
                # Off the market's grid since its tick or lot changed, or out of the engine's
                # range: the rebuilt book cannot hold it, so it is closed and its hold released.
                order_quarantine(
                    order_id=order.pk,
                    reason=order_quarantine_reason(exc),
                    detail=str(exc),
                    rebuilding=True,
                )
                continue
            resting.append(
                RestingOrder(
                    order=engine_order,
                    remaining=remaining,
                    seq=order.engine_seq,
                    untriggered=untriggered,
                )
            )
        epoch = engine.rebuild(symbol, resting, min_seq=cursor.last_seq)
    # Rebuilding an empty book (a new market, a fresh Redis of a quiet exchange) is routine;
    # a rebuild that restores resting orders means Redis lost them, which operators should see.
    logger.log(
        logging.WARNING if resting else logging.INFO,
        "engine state of %s rebuilt from %d open orders (epoch %s)",
        symbol,
        len(resting),
        epoch,
    )
    return epoch
