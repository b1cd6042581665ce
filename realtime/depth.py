"""Coalesced, sequenced order-book updates for ``depth:SYM`` (and throttled tickers).

Design (one book per market, gap-free across processes):
- Settlement's push point (``settlement.publish.publish_settled``, after commit) only marks the
  market dirty (``tradehive.push.market_mark_dirty``): ``SADD realtime:dirty:depth SYM`` (and
  the ticker set). No book work happens in the settle loop.
- Every ASGI process runs a coalescer task (``realtime.hub``). Every 50 ms it takes the dirty
  markets whose throttle key it can set (``SET realtime:depth-tick:{SYM} PX 100 NX``): at most
  one flush per market per 100 ms across all processes, so at most 10 updates a second.
- A flush holds the market's Redis lock while it reads the engine's top ``DEPTH_LEVELS`` levels,
  diffs them against the last *published* book stored in Redis (``realtime:depth:{SYM}``, JSON
  with its engine ``sequence``), stores the new book, and sends the update with ``sequence`` and
  ``prev_sequence`` (the stored book's). Lock -> read -> store -> send -> unlock serialises the
  updates of a market across processes, so ``prev_sequence`` of each update is the ``sequence`` of
  the one before it: the stream is gap-free.
- A subscriber joins the group first and then reads the stored book as its snapshot; updates
  at or below the snapshot's sequence are skipped, the next one continues it exactly.
- Sequences are the engine's own (``Engine.depth().sequence``), the same the REST depth returns:
  once the market is quiet, a client's book and sequence equal ``GET /markets/SYM/depth``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis

from engine.runtime import get_engine
from engine.units import levels_decimal
from markets.models import TradingPair
from markets.payloads import book_levels
from tradehive.money import format_decimal
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)

DEPTH_LEVELS = 50
DEPTH_INTERVAL_MS = 100
TICKER_INTERVAL_MS = 250
LOCK_TIMEOUT_S = 5


def state_key(symbol: str) -> str:
    return f"realtime:depth:{{{symbol}}}"


def _lock_key(symbol: str) -> str:
    return f"realtime:depth-lock:{{{symbol}}}"


def _throttle_key(kind: str, symbol: str) -> str:
    return f"realtime:{kind}-tick:{{{symbol}}}"


def markets_take_due(
    *, dirty_key: str, kind: str, interval_ms: int, client: redis.Redis | None = None
) -> list[str]:
    """Dirty markets whose throttle window is open, taken off the dirty set (each is due in one
    process only). A market marked again after this call is due again next window."""
    client = client or get_redis()
    symbols = sorted(client.smembers(dirty_key))  # type: ignore[arg-type]
    if not symbols:
        return []
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.set(_throttle_key(kind, symbol), "1", px=interval_ms, nx=True)
    due = [s for s, ok in zip(symbols, pipe.execute(), strict=True) if ok]
    if due:
        client.srem(dirty_key, *due)
    return due


def book_read(*, pair: TradingPair, limit: int = DEPTH_LEVELS) -> dict[str, Any]:
    """The engine's book of ``pair`` as the API shows it: ``{sequence, bids, asks}``."""
    depth = get_engine().depth(pair.symbol, limit)
    return {
        "sequence": depth.sequence,
        "bids": book_levels(pair, levels_decimal(depth.bids, pair.tick_size, pair.lot_size)),
        "asks": book_levels(pair, levels_decimal(depth.asks, pair.tick_size, pair.lot_size)),
    }


def _side_changes(
    old: list[list[str]], new: list[list[str]], zero: str, best_first_desc: bool
) -> list[list[str]]:
    before = dict((p, q) for p, q in old)
    after = dict((p, q) for p, q in new)
    changed = [[p, q] for p, q in after.items() if before.get(p) != q]
    changed += [[p, zero] for p in before if p not in after]
    changed.sort(key=lambda level: Decimal(level[0]), reverse=best_first_desc)
    return changed


def book_diff(*, pair: TradingPair, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The levels that differ from ``old`` to ``new``: ``[price, quantity]`` best first, a
    quantity of zero meaning the level left the book (or the top ``DEPTH_LEVELS``)."""
    zero = format_decimal(Decimal(0), pair.quantity_places)
    return {
        "bids": _side_changes(old["bids"], new["bids"], zero, True),
        "asks": _side_changes(old["asks"], new["asks"], zero, False),
    }


@dataclass
class DepthFlush:
    """What a flush found; ``release()`` must follow once ``message`` (if any) was sent."""

    lock: Any
    message: dict[str, Any] | None

    def release(self) -> None:
        try:
            self.lock.release()
        except redis.exceptions.LockError:
            logger.warning("depth lock expired before its update was sent")


def depth_flush_prepare(
    *, pair: TradingPair, client: redis.Redis | None = None
) -> DepthFlush | None:
    """Under the market's lock: read the engine, diff against the published book, store the new
    one. Returns the message to send *before* releasing the lock (None inside when nothing
    changed), or None when another process is flushing this market right now."""
    client = client or get_redis()
    lock = client.lock(
        _lock_key(pair.symbol), timeout=LOCK_TIMEOUT_S, blocking=False, thread_local=False
    )
    if not lock.acquire():
        return None
    try:
        new = book_read(pair=pair)
        raw = client.get(state_key(pair.symbol))
        old = json.loads(raw) if raw else None  # type: ignore[arg-type]
        message: dict[str, Any] | None = None
        if old is not None and old["sequence"] == new["sequence"]:
            return DepthFlush(lock, None)
        if old is not None and new["sequence"] > old["sequence"]:
            message = {
                "type": "update",
                "symbol": pair.symbol,
                "sequence": new["sequence"],
                "prev_sequence": old["sequence"],
                **book_diff(pair=pair, old=old, new=new),
            }
        elif old is not None:
            # The engine's sequence went back (rebuilt after a Redis loss): everyone restarts.
            message = {"type": "snapshot", "symbol": pair.symbol, **new}
        client.set(state_key(pair.symbol), json.dumps(new))
        return DepthFlush(lock, message)
    except BaseException:
        lock.release()
        raise


def depth_snapshot(*, pair: TradingPair, client: redis.Redis | None = None) -> dict[str, Any]:
    """The published book of ``pair`` (what updates continue), ``{type: snapshot, symbol,
    sequence, bids, asks}``. The first subscriber of a market stores it from the engine."""
    client = client or get_redis()
    raw = client.get(state_key(pair.symbol))
    if raw is None:
        with client.lock(
            _lock_key(pair.symbol), timeout=LOCK_TIMEOUT_S, blocking_timeout=3, thread_local=False
        ):
            raw = client.get(state_key(pair.symbol))
            if raw is None:
                book = book_read(pair=pair)
                client.set(state_key(pair.symbol), json.dumps(book))
                raw = json.dumps(book)
    return {"type": "snapshot", "symbol": pair.symbol, **json.loads(raw)}  # type: ignore[arg-type]
