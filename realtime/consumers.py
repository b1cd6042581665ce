"""The ``/ws/`` consumer (API.md "WebSocket"): authenticate, subscribe, forward. No writes.

Every frame to the client goes through the connection's outbox and one writer task, so frames
keep their order and a client that stops reading only fills its own outbox: past
``OUTBOX_LIMIT`` queued frames it is closed with 4009, never slowing the hub or other clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.errors import TokenNotValid
from realtime import protocol
from realtime.hub import Hub, hub_get
from realtime.metrics import CONNECTIONS, FRAMES_SENT, SLOW_CONSUMERS
from realtime.protocol import Channel, CloseCode, ProtocolError
from tradehive.push import FILL_HOP_SECONDS

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 2000
# What the server raises when a frame goes to a client that has already left: ASGI asks for an
# OSError (uvicorn's ClientDisconnected); uvicorn's sans-I/O protocol raises RuntimeError for an
# accept or a send after the connection was lost. Either way its websocket.disconnect is queued
# and ends the consumer (``disconnect``), so the frame is dropped without a traceback.
CLIENT_GONE = (OSError, RuntimeError)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _market_exists(symbol: str) -> bool:
    from realtime.selectors import market_get_cached

    return market_get_cached(symbol) is not None


def _parse_channels(names: tuple[str, ...]) -> list[Channel | ProtocolError]:
    parsed: list[Channel | ProtocolError] = []
    for name in names:
        try:
            parsed.append(protocol.parse_channel(name, market_exists=_market_exists))
        except ProtocolError as exc:
            parsed.append(exc)
    return parsed


def _initial_data(channel: Channel) -> Any:
    """What a new subscriber gets first: the ticker, the depth snapshot, the current candle."""
    from markets.payloads import CandleOut, house_quote_payload
    from markets.selectors import house_quote_get
    from markets.ticker import ticker_get
    from realtime.depth import depth_snapshot
    from realtime.selectors import candle_latest, market_get_cached

    pair = market_get_cached(channel.symbol or "")
    if pair is None:
        return None
    if channel.kind == "ticker":
        return ticker_get(pair=pair)
    if channel.kind == "depth":
        return {
            **depth_snapshot(pair=pair),
            "house": house_quote_payload(pair, house_quote_get(pair=pair)),
        }
    if channel.kind == "candles":
        candle = candle_latest(pair=pair, interval=channel.interval or "")
        return CandleOut([candle] if candle else [], many=True, context={"pair": pair}).data
    return None


def _user_from_token(token: str) -> tuple[Any, float]:
    """The token's user and the epoch second it expires at (it was just verified)."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import user_from_access_token

    user = user_from_access_token(token)
    return user, float(AccessToken(token)["exp"])  # type: ignore[arg-type]


DELIVERED = FILL_HOP_SECONDS.labels("pushed_to_delivered")


class RealtimeConsumer(AsyncWebsocketConsumer):
    hub: Hub
    user_id: int | None
    subscriptions: dict[str, Channel]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        self.subscriptions = {}
        self.depth_seq: dict[str, int | None] = {}
        self.depth_buffer: dict[str, list[tuple[dict[str, Any], str]]] = {}
        self.limiter = protocol.RateLimiter()
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self.closing = False
        self.token_expiry: asyncio.Task[None] | None = None
        try:
            await self.accept()
        except CLIENT_GONE:  # closed right after the upgrade (a tab closed, a fast page change)
            self.closing = True
            return
        self.counted = True
        CONNECTIONS.inc()
        self.writer = asyncio.create_task(self._write_forever())
        self.hub = await hub_get()

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if getattr(self, "counted", False):
            self.counted = False
            CONNECTIONS.dec()
        token_expiry = getattr(self, "token_expiry", None)  # None: left before connect ran
        if token_expiry is not None:
            token_expiry.cancel()
        for channel in list(getattr(self, "subscriptions", {}).values()):
            with contextlib.suppress(Exception):
                await self._leave(channel)
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    # --- outbound --------------------------------------------------------------------------------

    async def _write_forever(self) -> None:
        while True:
            frame = await self.outbox.get()
            if frame is None:
                SLOW_CONSUMERS.inc()
                await self._close_quietly(CloseCode.SLOW_CONSUMER)
                return
            try:
                await self.send(text_data=frame)
                FRAMES_SENT.inc()
            except CLIENT_GONE:
                self.closing = True
                return

    async def _close_quietly(self, code: int) -> None:
        self.closing = True
        with contextlib.suppress(*CLIENT_GONE):
            await self.close(code=code)

    def enqueue(self, frame: str) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.closing = True
            logger.info("closing a websocket that does not read (%s frames queued)", OUTBOX_LIMIT)
            # Drop what is queued: the close must not wait behind it.
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)

    def error(self, exc: ProtocolError) -> None:
        self.enqueue(protocol.op_message("error", code=exc.code, message=exc.message))

    def deliver(self, channel: str, data: Any, frame: str) -> None:
        """A public message from the hub (runs in the hub's task: never awaits)."""
        if channel.startswith("depth:") and isinstance(data, dict):
            self._deliver_depth(channel, data, frame)
        else:
            self.enqueue(frame)

    def _deliver_depth(self, channel: str, data: dict[str, Any], frame: str) -> None:
        symbol = channel.partition(":")[2]
        if symbol not in self.depth_seq:
            return
        if data.get("type") == "house":
            # The house's quote moves with the feed, outside the book's sequence: it goes to
            # every subscriber whose book has started (a pending snapshot carries its own).
            if self.depth_seq[symbol] is not None:
                self.enqueue(frame)
            return
        if data.get("type") == "snapshot":
            self.depth_seq[symbol] = data["sequence"]
            self.depth_buffer.pop(symbol, None)
            self.enqueue(frame)
            return
        current = self.depth_seq[symbol]
        if current is None:
            self.depth_buffer.setdefault(symbol, []).append((data, frame))
            return
        action = protocol.depth_accepts(current, data)
        if action == "apply":
            self.depth_seq[symbol] = data["sequence"]
            self.enqueue(frame)
        elif action == "gap":
            # An update was lost (layer capacity, a failed send): start this book over.
            self.depth_seq[symbol] = None
            self.depth_buffer[symbol] = [(data, frame)]
            asyncio.get_running_loop().create_task(self._depth_restart(channel))

    def _depth_start(self, channel: Channel, snapshot: dict[str, Any]) -> None:
        symbol = channel.symbol or ""
        if symbol not in self.depth_seq:
            return
        self.enqueue(protocol.server_message(channel.name, snapshot, _now_ms()))
        current: int = snapshot["sequence"]
        self.depth_seq[symbol] = current
        for data, frame in self.depth_buffer.pop(symbol, []):
            self._deliver_depth(channel.name, data, frame)

    async def _depth_restart(self, name: str) -> None:
        channel = self.subscriptions.get(name)
        if channel is None:
            return
        snapshot = await database_sync_to_async(_initial_data)(channel)
        self._depth_start(channel, snapshot)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A private push goes straight to ``push``. Channels' ``dispatch`` first runs
        ``close_old_connections`` through ``sync_to_async`` for every message: a hop to the
        process's one thread for synchronous code (the one the HTTP views run on), which a push
        that reads no database does not need, and which made each private message wait for
        whatever that thread was doing (issue 21: ~5 ms per message on a busy box). Every
        other message keeps Channels' handling; this consumer's database reads go through
        ``database_sync_to_async``, which closes stale connections itself."""
        if message.get("type") == "push":
            await self.push(message)
            return
        await super().dispatch(message)

    async def push(self, event: dict[str, Any]) -> None:
        """A private message from the layer (``settlement.publish``)."""
        self.enqueue(protocol.server_message(event["channel"], event["data"], event["ts"]))
        DELIVERED.observe(max(time.time() - event["ts"] / 1000, 0.0))

    # --- inbound ---------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if not self.limiter.allow():
            await self._close_quietly(CloseCode.RATE_LIMITED)
            return
        try:
            op = protocol.parse_message(text_data)
            if isinstance(op, protocol.Subscribe):
                await self._subscribe(op.channels)
            elif isinstance(op, protocol.Unsubscribe):
                await self._unsubscribe(op.channels)
            elif isinstance(op, protocol.Auth):
                await self._auth(op.token)
            else:
                self.enqueue(protocol.op_message("pong"))
        except ProtocolError as exc:
            self.error(exc)

    async def _auth(self, token: str) -> None:
        try:
            user, expires_at = await database_sync_to_async(_user_from_token)(token)
        except TokenNotValid:
            raise ProtocolError(
                "invalid_token", "The token is invalid, expired or revoked."
            ) from None
        if self.user_id is not None and self.user_id != user.pk:
            await self._leave_private()
        self.user_id = user.pk
        if self.token_expiry is not None:
            self.token_expiry.cancel()
        self.token_expiry = asyncio.create_task(self._expire_at(expires_at))
        self.enqueue(protocol.op_message("authenticated", user_id=user.pk))

    async def _leave_private(self) -> None:
        for channel in [c for c in self.subscriptions.values() if c.private]:
            await self._leave(channel)
            del self.subscriptions[channel.name]

    async def _expire_at(self, expires_at: float) -> None:
        """When the access token expires, private data stops: the private channels are left and
        the client is told (``token_expired``); public channels go on, and a fresh ``auth``
        brings the private ones back."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self._leave_private()
        self.user_id = None
        self.token_expiry = None
        self.error(
            ProtocolError(
                "token_expired", "The access token expired: send a fresh one with op auth."
            )
        )

    async def _subscribe(self, names: tuple[str, ...]) -> None:
        parsed = await database_sync_to_async(_parse_channels)(names)
        channels: list[Channel] = []
        for item in parsed:
            if isinstance(item, ProtocolError):
                self.error(item)
            elif item.private and self.user_id is None:
                self.error(
                    ProtocolError(
                        "auth_required", f"Authenticate before subscribing to {item.name!r}."
                    )
                )
            elif item.name not in self.subscriptions:
                channels.append(item)
        if len(self.subscriptions) + len(channels) > protocol.MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                "too_many_subscriptions",
                f"At most {protocol.MAX_SUBSCRIPTIONS} channels per connection.",
            )
        if not channels:
            return
        for channel in channels:
            self.subscriptions[channel.name] = channel
            if channel.kind == "depth":
                self.depth_seq[channel.symbol or ""] = None
            await self._join(channel)
        self.enqueue(protocol.op_message("subscribed", channels=[c.name for c in channels]))
        for channel in channels:
            if channel.kind in ("ticker", "depth", "candles"):
                data = await database_sync_to_async(_initial_data)(channel)
                if channel.kind == "depth":
                    self._depth_start(channel, data)
                elif data is not None:
                    self.enqueue(protocol.server_message(channel.name, data, _now_ms()))

    async def _unsubscribe(self, names: tuple[str, ...]) -> None:
        gone = []
        for name in names:
            channel = self.subscriptions.pop(name, None)
            if channel is None:
                try:
                    canonical = protocol.parse_channel(name, market_exists=lambda _: True).name
                except ProtocolError:
                    canonical = name
                channel = self.subscriptions.pop(canonical, None)
            if channel is not None:
                await self._leave(channel)
                gone.append(channel.name)
        self.enqueue(protocol.op_message("unsubscribed", channels=gone))

    async def _join(self, channel: Channel) -> None:
        if channel.private:
            await self.channel_layer.group_add(
                channel.group(user_id=self.user_id), self.channel_name
            )
        else:
            await self.hub.join(channel.group(), self)

    async def _leave(self, channel: Channel) -> None:
        if channel.private:
            await self.channel_layer.group_discard(
                channel.group(user_id=self.user_id), self.channel_name
            )
            return
        if channel.kind == "depth":
            self.depth_seq.pop(channel.symbol or "", None)
            self.depth_buffer.pop(channel.symbol or "", None)
        await self.hub.leave(channel.group(), self)
