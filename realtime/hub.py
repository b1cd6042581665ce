"""The process-local fan-out of public market channels, and the coalescer task.

Public channels (ticker/depth/trades/candles) can have thousands of subscribers in one server
process. Instead of one channel-layer group member per connection (one Redis write per message
per connection), each process joins each public group ONCE with its own channel, encodes each
message once, and hands the same text frame to its local subscribers' outboxes
(``Subscriber.deliver``). Private channels (one user each) use the layer's groups directly.

The hub belongs to the running event loop (ASGI servers run one loop per process; tests may
start several loops one after another)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from realtime.protocol import server_message

logger = logging.getLogger(__name__)

# RedisChannelLayer forgets group members after its group_expiry (1 day by default).
GROUP_REFRESH_SECONDS = 3600
COALESCER_TICK_SECONDS = 0.05


class Subscriber(Protocol):
    def deliver(self, channel: str, data: Any, frame: str) -> None:
        """Called synchronously in the hub's task: must not block (queue the frame)."""


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel_name = ""
        self.members: dict[str, set[Subscriber]] = {}
        self._joining: dict[str, asyncio.Future[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, *, coalescer: bool) -> None:
        # The default prefix: RedisChannelLayer receives every "specific.<process>!" channel of
        # a process through one key and one lock; a second prefix would stall the other.
        self.channel_name = await self.layer.new_channel()
        self._tasks.append(asyncio.create_task(self._receive_forever(), name="realtime-hub"))
        self._tasks.append(asyncio.create_task(self._refresh_forever(), name="realtime-refresh"))
        if coalescer:
            self._tasks.append(
                asyncio.create_task(coalesce_forever(self.layer), name="realtime-coalescer")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for group in list(self.members):
            with contextlib.suppress(Exception):
                await self.layer.group_discard(group, self.channel_name)
        self.members.clear()

    async def join(self, group: str, subscriber: Subscriber) -> None:
        """Add ``subscriber``; returns once this process receives the group's messages."""
        members = self.members.get(group)
        if members is None:
            members = self.members[group] = set()
            joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._joining[group] = joined
            members.add(subscriber)
            try:
                await self.layer.group_add(group, self.channel_name)
                joined.set_result(None)
            except BaseException as exc:
                joined.set_exception(exc)
                self.members.pop(group, None)
                raise
            finally:
                self._joining.pop(group, None)
            return
        members.add(subscriber)
        pending = self._joining.get(group)
        if pending is not None:
            await asyncio.shield(pending)

    async def leave(self, group: str, subscriber: Subscriber) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(subscriber)
        if not members and group not in self._joining:
            del self.members[group]
            await self.layer.group_discard(group, self.channel_name)

    def dispatch(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if not isinstance(channel, str):
            return
        members = self.members.get(channel.replace(":", "."))
        if not members:
            return
        frame = server_message(channel, message.get("data"), message.get("ts") or 0)
        for subscriber in list(members):
            try:
                subscriber.deliver(channel, message.get("data"), frame)
            except Exception:
                logger.exception("delivery to a subscriber failed")

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            self.dispatch(message)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for group in list(self.members):
                with contextlib.suppress(Exception):
                    await self.layer.group_add(group, self.channel_name)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_hub_lock: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


async def hub_get() -> Hub:
    """This event loop's hub, started on first use (with the coalescer unless
    ``settings.REALTIME_COALESCER`` is False)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is not None:
        return hub
    lock = _hub_lock.setdefault(loop, asyncio.Lock())
    async with lock:
        hub = _hubs.get(loop)
        if hub is None:
            for stale in [lp for lp in _hubs if lp.is_closed()]:
                _hubs.pop(stale, None)
                _hub_lock.pop(stale, None)
            hub = Hub(get_channel_layer())
            await hub.start(coalescer=getattr(settings, "REALTIME_COALESCER", True))
            _hubs[loop] = hub
    return hub


async def hub_stop() -> None:
    """Stop this loop's hub (tests end their loop with it)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    _hub_lock.pop(loop, None)
    if hub is not None:
        await hub.stop()


# --- the coalescer ------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


async def depth_flush(layer: Any, symbol: str) -> bool:
    """Publish ``symbol``'s book changes (see realtime.depth). False if another process holds
    the market right now (it stays dirty)."""
    from realtime.depth import depth_flush_prepare
    from realtime.selectors import market_get_cached
    from tradehive.push import group_for

    pair = await database_sync_to_async(market_get_cached)(symbol)
    if pair is None:
        return True
    flush = await sync_to_async(depth_flush_prepare, thread_sensitive=False)(pair=pair)
    if flush is None:
        return False
    try:
        if flush.message is not None:
            channel = f"depth:{symbol}"
            await layer.group_send(
                group_for(channel),
                {"type": "push", "channel": channel, "data": flush.message, "ts": _now_ms()},
            )
    finally:
        await sync_to_async(flush.release, thread_sensitive=False)()
    return True


async def ticker_flush(layer: Any, symbol: str) -> None:
    """The market's ticker on ``ticker:SYM``; for a feed-priced market also the house's quote
    on ``depth:SYM`` (``{type: house}``): both move with the feed price."""
    from markets.payloads import house_quote_payload
    from markets.selectors import house_quote_get
    from markets.ticker import ticker_get
    from realtime.selectors import market_get_cached
    from tradehive.push import group_for

    def read() -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        pair = market_get_cached(symbol)
        if pair is None:
            return None
        house = None
        if pair.is_feed_priced:
            house = {
                "type": "house",
                "symbol": symbol,
                "house": house_quote_payload(pair, house_quote_get(pair=pair)),
            }
        return ticker_get(pair=pair), house

    read_out = await database_sync_to_async(read)()
    if read_out is None:
        return
    ticker, house = read_out
    now_ms = int(timezone.now().timestamp() * 1000)
    for channel, data in ((f"ticker:{symbol}", ticker), (f"depth:{symbol}", house)):
        if data is not None:
            await layer.group_send(
                group_for(channel), {"type": "push", "channel": channel, "data": data, "ts": now_ms}
            )


async def coalesce_once(layer: Any) -> None:
    from realtime.depth import DEPTH_INTERVAL_MS, TICKER_INTERVAL_MS, markets_take_due
    from tradehive.push import DIRTY_DEPTH, DIRTY_TICKER, market_mark_dirty

    take = sync_to_async(markets_take_due, thread_sensitive=False)
    depth_due: Iterable[str] = await take(
        dirty_key=DIRTY_DEPTH, kind="depth", interval_ms=DEPTH_INTERVAL_MS
    )
    for symbol in depth_due:
        if not await depth_flush(layer, symbol):
            await sync_to_async(market_mark_dirty, thread_sensitive=False)(symbol=symbol)
    ticker_due = await take(dirty_key=DIRTY_TICKER, kind="ticker", interval_ms=TICKER_INTERVAL_MS)
    for symbol in ticker_due:
        await ticker_flush(layer, symbol)


async def coalesce_forever(layer: Any) -> None:
    while True:
        await asyncio.sleep(COALESCER_TICK_SECONDS)
        try:
            await coalesce_once(layer)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("realtime coalescer failed; retrying")
            await asyncio.sleep(1)
