"""The push transport: messages to Channels groups, with no knowledge of what they carry.

A message goes to the group of a channel (``group_for``) as ``{"type": "push", "channel",
"data", "ts"}``; the websocket consumer (``realtime``) forwards it to subscribed clients as
``{"channel", "data", "ts"}``. Domains build the data (``<app>/payloads.py``) and call
``send_many`` once per batch, after asking ``groups_listened`` which groups have members, so a
change nobody watches costs no rendering and no send.

Depth and tickers are coalesced instead: a change only marks its market dirty
(``market_mark_dirty``/``tickers_mark_dirty``) and the coalescer of the websocket processes
(``realtime.depth``/``realtime.hub``) publishes at most 10 depth updates and 4 tickers a second
per market."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from prometheus_client import Histogram

from tradehive.redis_client import get_redis

Message = tuple[str, dict[str, Any]]  # (group, layer message)
T = TypeVar("T")
# Runs a coroutine to completion from synchronous code: ``async_to_sync`` by default; the
# settlement's background publisher passes its own long-lived event loop (``LoopRunner``), so
# the channel layer's Redis connections (kept per loop) are reused instead of reopened for every
# batch.
Runner = Callable[[Awaitable[Any]], Any]

# A fill's way to its trader, hop by hop, as bench/latency.py measures it from the client's side:
# settlement observes the first two, the web process that holds the trader's websocket the last.
FILL_HOP_SECONDS = Histogram(
    "tradehive_fill_hop_seconds",
    "Time on each hop from the engine's match to the trader's websocket: engine_to_settled "
    "(the match to settlement's commit, per fill), settled_to_pushed (the commit to the channel "
    "layer, per batch), pushed_to_delivered (the channel layer to the trader's connection, per "
    "private message).",
    ["hop"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 10.0),
)

# Redis sets of market symbols whose book/ticker changed since the coalescers last published.
DIRTY_DEPTH = "realtime:dirty:depth"
DIRTY_TICKER = "realtime:dirty:ticker"


def group_for(channel: str, *, user_id: int | None = None) -> str:
    """Channels group of a public channel (``trades:BTC-KRW`` -> ``trades.BTC-KRW``) or of a
    user's private channel (``orders`` -> ``user.42.orders``)."""
    if user_id is not None:
        return f"user.{user_id}.{channel}"
    return channel.replace(":", ".")


def push_message(channel: str, data: Any, ts_ms: int, *, user_id: int | None = None) -> Message:
    return group_for(channel, user_id=user_id), {
        "type": "push",
        "channel": channel,
        "data": data,
        "ts": ts_ms,
    }


def _lane(group: str) -> str:
    """Messages of one lane are sent in order: a user's private groups share one (``user.42.``),
    so their connection sees its orders, fills, balances and notifications in the order
    settlement wrote them; every public group is a lane of its own."""
    if group.startswith("user."):
        return group[: group.index(".", 5) + 1]
    return group


@dataclass(frozen=True, slots=True)
class Listeners:
    """Of some groups, those with at least one live member (``groups``) and, with the project's
    layer, each one's members (``members``: group -> channel names), which a send to them
    then need not read again (``send_many``)."""

    groups: set[str]
    members: dict[str, list[str]] | None = None


async def _send_all(messages: Sequence[Message], listeners: Listeners | None = None) -> None:
    """Send ``messages`` in order: the project's layer (``tradehive.channel_layer``) sends them
    all in two Redis round trips. With another layer, each lane's messages in order, the lanes
    concurrently: each ``group_send`` costs
    Redis round trips, and one after another a batch's messages (the trade, candles, then the
    taker's and the maker's orders, fills and balances) made the last one wait for all the
    others."""
    layer = get_channel_layer()
    if layer is None:
        return
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:  # the project's layer: every message in one or two round trips
        await send_many(messages, members=listeners.members if listeners else None)
        return
    lanes: dict[str, list[Message]] = defaultdict(list)
    for group, message in messages:
        lanes[_lane(group)].append((group, message))

    async def send_in_order(queued: Sequence[Message]) -> None:
        for group, message in queued:
            await layer.group_send(group, message)

    if len(lanes) == 1:
        await send_in_order(messages)
        return
    await asyncio.gather(*(send_in_order(queued) for queued in lanes.values()))


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_sync(awaitable: Awaitable[T]) -> T:
    """The default ``Runner``: ``async_to_sync`` (a fresh event loop round per call)."""
    return async_to_sync(_awaited)(awaitable)


def send_many(
    messages: Sequence[Message], *, run: Runner = run_sync, listeners: Listeners | None = None
) -> None:
    """Send ``messages`` in order, in one event-loop round (from synchronous code).
    ``listeners``: what ``listeners_get`` just read of their groups, if the caller has it."""
    if messages:
        run(_send_all(messages, listeners))


async def groups_listened(groups: Sequence[str]) -> set[str]:
    """The groups among ``groups`` that have at least one live member (``listeners_get``)."""
    return (await listeners_get(groups)).groups


async def listeners_get(groups: Sequence[str]) -> Listeners:
    """The groups among ``groups`` that have at least one live member, in one pipelined round
    per Redis host; with the project's layer also their members, which ``send_many`` then uses
    instead of reading them again (one round trip fewer per send). With another layer than
    ``RedisChannelLayer`` (in-memory, pub/sub) every group counts as listened: sending to a
    group without members is a no-op anyway.

    Reads the layer's own group keys the way its ``group_send`` does (members are zset entries
    scored by join time; those older than ``group_expiry`` are dead). A member that joins right
    after this check misses this batch, as it would have had it joined right after the send:
    subscribers start from a snapshot (API.md), never from the pushes before it."""
    from channels_redis.core import RedisChannelLayer

    layer = get_channel_layer()
    if not groups or layer is None:
        return Listeners(set())
    members_many = getattr(layer, "group_members_many", None)
    if members_many is not None:  # the project's layer: read the members, kept for the send
        members = await members_many(groups)
        return Listeners({group for group, found in members.items() if found}, members)
    if not isinstance(layer, RedisChannelLayer):
        return Listeners(set(groups))
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
    return Listeners(listened)


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


def market_mark_dirty(
    *, symbol: str, ticker: bool = True, client: redis.Redis | None = None
) -> None:
    """The market's book (and, unless ``ticker`` is false, its ticker) changed: the coalescers
    will publish it soon. A batch with trades leaves the ticker to the refresh of its cached
    24h figures, which marks it once the new ones are written."""
    pipe = (client or get_redis()).pipeline(transaction=False)
    pipe.sadd(DIRTY_DEPTH, symbol)
    if ticker:
        pipe.sadd(DIRTY_TICKER, symbol)
    pipe.execute()


def tickers_mark_dirty(*, symbols: list[str], client: redis.Redis | None = None) -> None:
    """These markets' tickers changed without a book change (a price feed moved): only the
    ticker coalescer publishes them, throttled like any ticker."""
    if symbols:
        (client or get_redis()).sadd(DIRTY_TICKER, *symbols)
