"""The settlement consumer loop (``python manage.py settle``)."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time

import redis
from django.db import close_old_connections
from redis.exceptions import RedisClusterException

from engine.keys import events_key, seq_key
from engine.runtime import get_engine
from markets.models import TradingPair
from settlement.publish import SettledBatch, settled_publish_many
from settlement.recovery import engine_recover
from settlement.services import (
    SettlementGap,
    settle_failure_record,
    settle_market,
    settlement_group_ensure,
    settlement_publisher_set,
)
from tradehive.gc_tune import gc_tune
from tradehive.push import LoopRunner
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


class BackgroundPublisher:
    """Pushes settled batches to websockets from one thread, in commit order, and runs their
    follow-ups (``settled_publish_many``).

    Settlement's transaction is the truth; pushing is a copy for live clients. A bounded queue
    gives back-pressure if pushing falls far behind. Each round takes every batch waiting (at
    most ``ROUND_MAX``), so a backlog's keyed follow-ups (the markets' tickers) run once a
    round.

    Handing a batch over waits (at most ``PUSH_WAIT_S``) until its messages have been sent,
    not its follow-ups: after the commit the settling thread acknowledges the events, releases
    the market's lease and reads the streams again, Redis round trips that took turns at the
    interpreter with the push (traced at idle: a one-fill batch's push took 3.2 ms from the
    commit, 1.4 ms with the wait; docs/decisions.md "Latency a trader feels"). At idle the
    settling thread's next read finds nothing anyway, and under a backlog a large batch takes
    far longer to settle than to push (``bench/orders.py``'s drain measured no slower)."""

    ROUND_MAX = 64
    PUSH_WAIT_S = 0.05

    def __init__(self, max_pending: int = 256) -> None:
        self._queue: queue.Queue[SettledBatch | None] = queue.Queue(maxsize=max_pending)
        self._handed = 0  # batches handed over (only the settling thread counts them)
        self._pushed = 0  # batches whose push has been tried (the publisher's thread)
        self._pushed_changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="settlement-publisher", daemon=True)
        self._thread.start()

    def __call__(self, batch: SettledBatch) -> None:
        self._handed += 1
        handed = self._handed
        self._queue.put(batch)
        with self._pushed_changed:
            self._pushed_changed.wait_for(lambda: self._pushed >= handed, self.PUSH_WAIT_S)

    def _batch_pushed(self) -> None:
        with self._pushed_changed:
            self._pushed += 1
            self._pushed_changed.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        # One event loop for the thread's life: the channel layer's connections are per loop.
        runner = LoopRunner()
        try:
            stopping = False
            while not stopping and (batch := self._queue.get()) is not None:
                batches = [batch]
                while len(batches) < self.ROUND_MAX:
                    try:
                        waiting = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if waiting is None:  # close(): this round is the last
                        stopping = True
                        break
                    batches.append(waiting)
                try:
                    # Failures are logged inside: they never stop settlement; clients resync.
                    settled_publish_many(batches=batches, run=runner, pushed=self._batch_pushed)
                finally:
                    close_old_connections()
        finally:
            runner.close()


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


Shard = tuple[int, int]  # (index, count): this process settles the markets with pk % count == index


def shard_parse(text: str) -> Shard:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; raises ValueError otherwise."""
    index, sep, count = text.partition("/")
    if not sep:
        raise ValueError(f"a shard is written i/n, not {text!r}")
    shard = int(index), int(count)
    if not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard {text!r}: need 0 <= i < n")
    return shard


def shard_pairs(pairs: list[TradingPair], shard: Shard | None) -> list[TradingPair]:
    """The markets of ``shard`` (all of them without one). A market's shard is its primary key
    modulo the shard count: it never moves while markets are added, and shards 0..n-1 together
    cover every market exactly once. The settlement lease still guards each market, so a
    misconfigured overlap costs only skipped turns, never a double application."""
    if shard is None:
        return pairs
    index, count = shard
    return [pair for pair in pairs if pair.pk % count == index]


def settle_forever(
    *,
    count: int = 1000,
    idle_sleep_s: float = 0.01,
    stop_after_s: float | None = None,
    shard: Shard | None = None,
) -> None:
    """Settle every market's events (or those of ``shard``) until stopped. Markets are re-read
    every few seconds so new ones are picked up; a market whose engine state is missing is
    recovered first. The collector is tuned first (``tradehive.gc_tune``: measured on the bench
    backlog, settle CPU 0.27 -> 0.19 ms per fill)."""
    gc_tune()
    client = get_redis()
    consumer = consumer_name()
    publisher = BackgroundPublisher()
    settlement_publisher_set(publisher)
    try:
        _settle_loop(client, consumer, count, idle_sleep_s, stop_after_s, shard)
    finally:
        settlement_publisher_set(None)
        publisher.close()


# Even a market with no news is read at least this often (an entry whose XACK failed, say).
FULL_PASS_SECONDS = 1.0


def markets_due(
    client: redis.Redis, pairs: list[TradingPair], drained_at: dict[int, int], *, full_pass: bool
) -> list[tuple[TradingPair, int]]:
    """The markets worth a settlement read, each with its engine sequence as read now: those
    whose sequence moved since their stream was last found drained (``drained_at``: market id
    -> the sequence read just before), or all of them on a full pass.

    One pipelined round of GETs for all the markets, instead of a lease, two stream reads and
    a release (four round trips) per market per loop even when nothing happened. The engine
    sets ``seq:{S}`` in the same script call that appends the event, so a new event always
    moves it."""
    pipe = client.pipeline(transaction=False)
    for pair in pairs:
        pipe.get(seq_key(pair.symbol))
    seqs = [int(seq or 0) for seq in pipe.execute()]
    return [
        (pair, seq)
        for pair, seq in zip(pairs, seqs, strict=True)
        if full_pass or drained_at.get(pair.pk) != seq
    ]


StreamId = tuple[int, int]  # a stream entry id "ms-n" as numbers, to compare


def stream_id(text: str | bytes) -> StreamId:
    ms, _, n = (text.decode() if isinstance(text, bytes) else text).partition("-")
    return int(ms), int(n or 0)


def events_wait(
    client: redis.Redis,
    symbols: list[str],
    timeout_s: float,
    seen: dict[str, StreamId] | None = None,
) -> None:
    """Wait up to ``timeout_s`` for the next event of any of ``symbols``' streams: one blocking
    ``XREAD`` that returns as soon as the engine appends one, instead of a fixed sleep, so a
    fill on an idle exchange is settled as soon as it is made.

    ``seen`` (symbol -> the newest entry id this consumer has read from that stream; updated
    here with what the wait returns) makes the wait start after those entries, so an event
    appended after the last look and before this call ends it at once. A stream without an
    entry in ``seen`` is waited on from now (``$``): such an event then waits at most
    ``timeout_s``. Where one command cannot span the streams (Redis Cluster: one slot per
    market) it sleeps."""
    if not symbols or timeout_s <= 0:
        time.sleep(max(timeout_s, 0))
        return
    seen = {} if seen is None else seen
    starts = {}
    for symbol in symbols:
        last = seen.get(symbol)
        starts[events_key(symbol)] = f"{last[0]}-{last[1]}" if last else "$"
    try:
        answer = client.xread(starts, count=1, block=max(1, round(timeout_s * 1000)))
    except (redis.ResponseError, RedisClusterException):
        # CROSSSLOT: on a Redis Cluster the markets' streams lie in different slots (redis-py's
        # RedisCluster refuses the command before sending it, a server answers CROSSSLOT).
        time.sleep(timeout_s)
        return
    by_key = {events_key(symbol): symbol for symbol in symbols}
    for key, entries in answer or []:
        symbol = by_key[key.decode() if isinstance(key, bytes) else key]
        if entries:
            # Moving past it: an entry another consumer settled must not end every wait.
            seen[symbol] = max(seen.get(symbol, (0, 0)), stream_id(entries[-1][0]))


# A market whose batch fails is tried again after FAILURE_BACKOFF_S x 2, doubling per failure in
# a row up to FAILURE_BACKOFF_MAX_S: its events stay in the stream, unacknowledged, until they
# apply.
FAILURE_BACKOFF_S = 0.5
FAILURE_BACKOFF_MAX_S = 30.0


def _settle_failure(pair: TradingPair, error: Exception) -> int:
    """Log and count (on the market's cursor) a batch of ``pair`` that could not be applied."""
    close_old_connections()  # the failure may have broken the connection
    try:
        failures = settle_failure_record(pair=pair, error=error)
    except Exception:  # the database itself fails: logged, the loop goes on
        logger.exception("could not record the settlement failure of %s", pair.symbol)
        failures = 1
    logger.error(
        "settlement of %s failed (%d failures so far); its other events wait, other markets go on",
        pair.symbol,
        failures,
        exc_info=error,
    )
    return failures


def _settle_loop(
    client: redis.Redis,
    consumer: str,
    count: int,
    idle_sleep_s: float,
    stop_after_s: float | None,
    shard: Shard | None = None,
) -> None:
    started = time.monotonic()
    pairs: list[TradingPair] = []
    pairs_loaded_at = 0.0
    drained_at: dict[int, int] = {}
    seen: dict[str, StreamId] = {}  # symbol -> the newest stream entry id read (events_wait)
    # market id -> (when to try it again (monotonic), failures in a row)
    failing: dict[int, tuple[float, int]] = {}
    full_pass_at = 0.0
    while stop_after_s is None or time.monotonic() - started < stop_after_s:
        if time.monotonic() - pairs_loaded_at > 5:
            close_old_connections()
            pairs = shard_pairs(
                list(TradingPair.objects.select_related("base", "quote").order_by("pk")), shard
            )
            engine = get_engine()
            for pair in pairs:
                settlement_group_ensure(client, pair.symbol)
                # A cheap Redis read first: recovery locks the market's cursor row.
                if not engine.has_state(pair.symbol):
                    try:
                        engine_recover(pair=pair)
                    except Exception as exc:  # this market alone; retried at the next reload
                        _settle_failure(pair, exc)
            pairs_loaded_at = time.monotonic()
        busy = False
        full_pass = time.monotonic() - full_pass_at >= FULL_PASS_SECONDS
        if full_pass:
            full_pass_at = time.monotonic()
        for pair, seq in markets_due(client, pairs, drained_at, full_pass=full_pass):
            if pair.pk in failing and failing[pair.pk][0] > time.monotonic():
                continue  # backing off a market whose last batch failed
            drained_at.pop(pair.pk, None)
            try:
                outcome = settle_market(pair=pair, consumer=consumer, count=count, client=client)
            except SettlementGap:
                logger.warning("settlement of %s waits for earlier events", pair.symbol)
                continue
            except redis.ConnectionError:
                raise  # Redis is down for every market: the process's supervisor restarts it
            except Exception as exc:  # this market's batch: it alone stops, the others go on
                _settle_failure(pair, exc)
                in_a_row = failing[pair.pk][1] + 1 if pair.pk in failing else 1
                backoff = min(FAILURE_BACKOFF_MAX_S, FAILURE_BACKOFF_S * 2 ** min(in_a_row, 10))
                failing[pair.pk] = (time.monotonic() + backoff, in_a_row)
                continue
            failing.pop(pair.pk, None)
            if outcome.last_entry_id is not None:
                last = stream_id(outcome.last_entry_id)
                seen[pair.symbol] = max(seen.get(pair.symbol, last), last)
            if outcome.drained:
                drained_at[pair.pk] = seq
            busy = busy or outcome.applied > 0
        if not busy:
            events_wait(client, [pair.symbol for pair in pairs], idle_sleep_s, seen)
