"""How the feed tasks run: one at a time each, timed.

Cadence (docs/feeds.md): Celery beat sends ``feeds.tasks.poll_source`` per source every 0.25 s
and ``feeds.tasks.match_markets`` every 0.5 s, each with ``expires`` = its interval, to the
``feeds`` and ``feeds-match`` queues. Each run is skip-if-running (``exclusive_run``): it takes a
Redis lock (``SET NX PX``) and returns
at once when the previous run still holds it, so a slow run never piles up behind itself. A
matching pass also takes a lock per market (``feedlock:{S}``) around the market's fill +
trigger work: taken inside ``feed_fill.lua`` only when the window crosses parked stops (the
fills themselves are one atomic script call; the triggers that follow are further calls), so
no two passes (beat, a manual run, a bench) interleave on one market."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

logger = logging.getLogger(__name__)


DURATIONS_KEPT = 2000


# A lock outlives a run by far (runs take milliseconds) yet frees itself after a crash.
LOCK_MS = 5000


# Compare-and-delete: release a lock only if this run still owns it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lock_take(client: redis.Redis, key: str) -> str | None:
    token = uuid.uuid4().hex
    return token if client.set(key, token, nx=True, px=LOCK_MS) else None


def lock_release(client: redis.Redis, key: str, token: str) -> None:
    client.eval(_RELEASE, 1, key, token)


@contextmanager
def exclusive_run(client: redis.Redis, key: str, *, stats_key: str | None = None) -> Iterator[bool]:
    """Skip-if-running: yields True while this run holds ``key`` (released on exit), False
    when another run holds it (counted as ``skipped`` in ``stats_key``). The lock expires after
    ``LOCK_MS`` so a crashed run never blocks the next ones for long."""
    token = lock_take(client, key)
    if token is None:
        if stats_key is not None:
            client.hincrby(stats_key, "skipped", 1)
        yield False
        return
    try:
        yield True
    finally:
        lock_release(client, key, token)


def text_of(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def durations_record(client: redis.Redis, key: str, duration_us: int) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.lpush(key, duration_us)
    pipe.ltrim(key, 0, DURATIONS_KEPT - 1)
    pipe.execute()
