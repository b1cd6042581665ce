"""The incremental candle write path: one upsert per touched (interval, bucket) of a batch.

Why raw SQL: a candle update needs ``high = GREATEST(high, new high)`` and an open/close that
follow the engine sequence, which ``bulk_create(update_conflicts=True)`` cannot say (it only
copies ``excluded`` values). ``INSERT ... ON CONFLICT (pair, interval, bucket) DO UPDATE`` does it
in one round trip per batch, without reading candles first and without a
lost-update window between concurrent writers: the row lock PostgreSQL takes on conflict
serialises them, and rows are written in a fixed (interval, bucket) order so two batches never
deadlock.

Feed-priced markets (docs/feeds.md "Candles and ticker"): their OHLC follows the price feed.
``feeds`` rolls the observations of the price windows into the same rows (``feed_candle_deltas``
+ ``candles_apply_many``, volume 0); trades add volume and count and widen high/low. Open and
close are decided by an **order key** in ``first_sequence``/``last_sequence``: an observation's
key is its received time ``ms * 1024 + n`` (its stream id), far above any engine sequence, and
a trade of a feed market opens with ``TRADE_OPEN_BASE + sequence`` (above every observation)
and closes with its plain sequence (below every observation). So in a bucket the feed observed,
open/close are the earliest/latest observation whatever arrives when; in a bucket without any
observation (feed down) the trades set them, in sequence order. Re-applying an observation is
harmless (GREATEST/LEAST/keys are idempotent and it adds no volume)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from markets.intervals import INTERVAL_SECONDS
from markets.models import Trade, TradingPair
from markets.sql import CANDLE_COLUMNS, candles_upsert_sql
from tradehive.sql import prepared_cursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Order keys of feed-priced markets' candles (module docstring): observations sit in
# [2^10 * 1.7e12, 2^62), trades' open keys above 2^62, trades' close keys (sequences) below.
OBSERVATION_KEY_SHIFT = 10
TRADE_OPEN_BASE = 1 << 62


@dataclass(slots=True)
class CandleDelta:
    """What one batch adds to one candle."""

    interval: str
    bucket: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trade_count: int
    first_sequence: int
    last_sequence: int


def candle_deltas(trades: Iterable[Trade]) -> list[CandleDelta]:
    """Aggregate trades per (interval, bucket) in memory, sorted by (interval, bucket).

    Open and close are the prices of the lowest and highest engine sequence, whatever order the
    trades come in."""
    deltas: dict[tuple[str, int], CandleDelta] = {}
    for trade in trades:
        elapsed = trade.created_at - _EPOCH
        seconds = elapsed.days * 86400 + elapsed.seconds
        for interval, length in INTERVAL_SECONDS.items():
            start = seconds - seconds % length
            delta = deltas.get((interval, start))
            if delta is None:
                deltas[(interval, start)] = CandleDelta(
                    interval=interval,
                    bucket=_EPOCH + timedelta(seconds=start),
                    open=trade.price,
                    high=trade.price,
                    low=trade.price,
                    close=trade.price,
                    volume=trade.quantity,
                    quote_volume=trade.quote_quantity,
                    trade_count=1,
                    first_sequence=trade.sequence,
                    last_sequence=trade.sequence,
                )
                continue
            delta.volume += trade.quantity
            delta.quote_volume += trade.quote_quantity
            delta.trade_count += 1
            if trade.price > delta.high:
                delta.high = trade.price
            if trade.price < delta.low:
                delta.low = trade.price
            if trade.sequence < delta.first_sequence:
                delta.first_sequence, delta.open = trade.sequence, trade.price
            if trade.sequence > delta.last_sequence:
                delta.last_sequence, delta.close = trade.sequence, trade.price
    order = {interval: index for index, interval in enumerate(INTERVAL_SECONDS)}
    return sorted(deltas.values(), key=lambda d: (order[d.interval], d.bucket))


def observation_key(entry_id: str) -> int:
    """The order key of a price-window entry ``"<ms>-<n>"``: ``ms * 1024 + n``."""
    ms, _, n = entry_id.partition("-")
    return (int(ms) << OBSERVATION_KEY_SHIFT) + min(int(n or 0), (1 << OBSERVATION_KEY_SHIFT) - 1)


def feed_candle_deltas(observations: Iterable[tuple[str, Decimal]]) -> list[CandleDelta]:
    """Aggregate price-window observations ``(entry id "<ms>-<n>", price)`` per (interval,
    bucket) of their received time: OHLC with open/close the lowest/highest order key, no
    volume or trades. Sorted like ``candle_deltas``."""
    deltas: dict[tuple[str, int], CandleDelta] = {}
    for entry_id, price in observations:
        key = observation_key(entry_id)
        seconds = (key >> OBSERVATION_KEY_SHIFT) // 1000
        for interval, length in INTERVAL_SECONDS.items():
            start = seconds - seconds % length
            delta = deltas.get((interval, start))
            if delta is None:
                deltas[(interval, start)] = CandleDelta(
                    interval=interval,
                    bucket=_EPOCH + timedelta(seconds=start),
                    open=price,
                    high=price,
                    low=price,
                    close=price,
                    volume=Decimal(0),
                    quote_volume=Decimal(0),
                    trade_count=0,
                    first_sequence=key,
                    last_sequence=key,
                )
                continue
            if price > delta.high:
                delta.high = price
            if price < delta.low:
                delta.low = price
            if key < delta.first_sequence:
                delta.first_sequence, delta.open = key, price
            if key > delta.last_sequence:
                delta.last_sequence, delta.close = key, price
    order = {interval: index for index, interval in enumerate(INTERVAL_SECONDS)}
    return sorted(deltas.values(), key=lambda d: (order[d.interval], d.bucket))


def candles_apply(*, pair: TradingPair, deltas: Sequence[CandleDelta]) -> None:
    """Upsert the candles the trade ``deltas`` touch (caller owns the transaction). In a
    feed-priced market the trades' open/close keys rank below the feed's observations (module
    docstring): they add volume and widen high/low, and set open/close only where the feed
    has not."""
    if pair.is_feed_priced:
        deltas = [replace(d, first_sequence=TRADE_OPEN_BASE + d.first_sequence) for d in deltas]
    candles_apply_many(rows=[(pair.pk, d) for d in deltas])


def candles_apply_many(*, rows: Sequence[tuple[int, CandleDelta]]) -> None:
    """Upsert ``(pair id, delta)`` rows, any number of markets, at most one row per (pair,
    interval, bucket): one statement fed by column arrays. Written in (pair id, interval, bucket)
    order - the order ``candles_apply`` locks one market's rows in - so concurrent writers never
    deadlock."""
    order = {interval: index for index, interval in enumerate(INTERVAL_SECONDS)}
    rows = sorted(rows, key=lambda r: (r[0], order[r[1].interval], r[1].bucket))

    if not rows:
        return
    arrays: list[list[Any]] = [[] for _ in CANDLE_COLUMNS]
    for pair_id, d in rows:
        for array, value in zip(
            arrays,
            (
                pair_id,
                d.interval,
                d.bucket,
                d.open,
                d.high,
                d.low,
                d.close,
                d.volume,
                d.quote_volume,
                d.trade_count,
                d.first_sequence,
                d.last_sequence,
            ),
            strict=True,
        ):
            array.append(value)
    with prepared_cursor() as cursor:
        cursor.execute(candles_upsert_sql(), arrays)
