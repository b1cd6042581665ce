"""The websocket protocol of API.md "WebSocket", as plain data and functions (no I/O).

Client messages are parsed into ``Subscribe`` / ``Unsubscribe`` / ``Auth`` / ``Ping``; channel
names into ``Channel``. Anything wrong raises ``ProtocolError`` carrying the error code the
client receives as ``{"op": "error", "code", "message"}`` (the connection stays up)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markets.models import Interval
from tradehive.parsers import JSONInputError, json_loads_strict

MAX_SUBSCRIPTIONS = 50
MAX_MESSAGE_CHARS = 16_384
# A connection may send RATE_PER_SECOND messages a second sustained, bursts up to RATE_BURST.
RATE_PER_SECOND = 20.0
RATE_BURST = 40.0

PUBLIC_KINDS = ("ticker", "depth", "trades", "candles")
PRIVATE_CHANNELS = ("orders", "fills", "balances", "notifications")
INTERVALS = tuple(Interval.values)


class CloseCode:
    """Close codes of the server (4000-4999 is the application's range, RFC 6455)."""

    RATE_LIMITED = 4008  # more messages a second than allowed
    SLOW_CONSUMER = 4009  # the client does not read its messages fast enough


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_message(self) -> dict[str, str]:
        return {"op": "error", "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Channel:
    """A subscribable channel: ``kind`` is ticker/depth/trades/candles or a private name."""

    name: str
    kind: str
    symbol: str | None = None
    interval: str | None = None

    @property
    def private(self) -> bool:
        return self.symbol is None

    def group(self, *, user_id: int | None = None) -> str:
        """The Channels group carrying this channel (``tradehive.push.group_for``)."""
        from tradehive.push import group_for

        return group_for(self.name, user_id=user_id if self.private else None)


def parse_channel(name: object, *, market_exists: Callable[[str], bool]) -> Channel:
    """``ticker:BTC-KRW``, ``depth:SYM``, ``trades:SYM``, ``candles:SYM:1m`` or a private
    channel name. The symbol is upper-cased; ``market_exists`` says whether it is a market."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ProtocolError("unknown_channel", f"Not a channel name: {str(name)[:64]!r}.")
    if name in PRIVATE_CHANNELS:
        return Channel(name=name, kind=name)
    kind, _, rest = name.partition(":")
    if kind not in PUBLIC_KINDS or not rest:
        raise ProtocolError("unknown_channel", f"No channel {name!r}.")
    symbol, interval = rest, None
    if kind == "candles":
        symbol, _, interval = rest.partition(":")
        if interval not in INTERVALS:
            raise ProtocolError(
                "unknown_interval", f"{name!r}: the interval must be one of {', '.join(INTERVALS)}."
            )
    elif ":" in rest:
        raise ProtocolError("unknown_channel", f"No channel {name!r}.")
    symbol = symbol.upper()
    if not market_exists(symbol):
        raise ProtocolError("unknown_market", f"No market {symbol!r}.")
    canonical = f"{kind}:{symbol}" + (f":{interval}" if interval else "")
    return Channel(name=canonical, kind=kind, symbol=symbol, interval=interval)


@dataclass(frozen=True, slots=True)
class Subscribe:
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Auth:
    token: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


Op = Subscribe | Unsubscribe | Auth | Ping


def _channel_list(message: dict[str, Any]) -> tuple[str, ...]:
    channels = message.get("channels")
    if (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) for c in channels)
    ):
        raise ProtocolError("bad_request", '"channels" must be a non-empty list of names.')
    unique = tuple(dict.fromkeys(channels))
    if len(unique) > MAX_SUBSCRIPTIONS:
        raise ProtocolError(
            "too_many_subscriptions", f"At most {MAX_SUBSCRIPTIONS} channels per connection."
        )
    return unique


def parse_message(text: str | None) -> Op:
    """One client text frame -> an operation."""
    if text is None:
        raise ProtocolError("bad_request", "Send JSON text frames, not binary.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError(
            "message_too_large", f"Messages are at most {MAX_MESSAGE_CHARS} characters."
        )
    try:
        message = json_loads_strict(text)
    except JSONInputError:  # also: nested too deep, duplicate keys, NaN, NUL (tradehive.parsers)
        raise ProtocolError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", 'A message is a JSON object with an "op".')
    op = message.get("op")
    if op == "subscribe":
        return Subscribe(_channel_list(message))
    if op == "unsubscribe":
        return Unsubscribe(_channel_list(message))
    if op == "auth":
        token = message.get("token")
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise ProtocolError("bad_request", '"token" must be an access JWT.')
        return Auth(token)
    if op == "ping":
        return Ping()
    raise ProtocolError(
        "unknown_op", f"Unknown op {str(op)[:32]!r}; use subscribe, unsubscribe, auth or ping."
    )


class RateLimiter:
    """A token bucket: ``allow()`` is False once a client sends faster than ``rate`` a second
    for longer than ``burst`` messages allow."""

    def __init__(
        self,
        *,
        rate: float = RATE_PER_SECOND,
        burst: float = RATE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.updated = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def server_message(channel: str, data: Any, ts_ms: int) -> str:
    """The text frame of a server push: ``{"channel", "data", "ts"}``."""
    return json.dumps({"channel": channel, "data": data, "ts": ts_ms}, separators=(",", ":"))


def op_message(op: str, **fields: Any) -> str:
    return json.dumps({"op": op, **fields}, separators=(",", ":"))


def depth_accepts(current: int | None, update: dict[str, Any]) -> str:
    """What a subscriber whose book is at ``current`` does with a depth ``update``:
    ``apply`` (it continues the book), ``skip`` (already in the snapshot) or ``gap``."""
    if current is None:
        return "gap"
    if update["prev_sequence"] == current:
        return "apply"
    if update["sequence"] <= current:
        return "skip"
    return "gap"
