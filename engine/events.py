"""The engine's events, as appended to ``events:{SYMBOL}`` and returned by ``Engine`` calls.

An event is a line of tab-separated values: its ``type``, then the fields of the dataclass named
by ``type`` in declaration order (``seq``, ``ts_ms``, ...), ``''`` for an absent (None) optional
one. Integers are ticks (prices), lots (quantities) and quote units (tick*lot, budgets). A script
call's events travel as one text, lines joined by newlines: the call's answer, and one stream
entry (field ``ev``) per call, so a taker walking twenty makers or a batch of orders costs one
XADD. ``parse_entry`` turns one stream entry (from XREAD/XREADGROUP) into its events,
``parse_script_answer`` a script's answer, so settlement and the facade read events the same
way. There is one layout: every stream can be rebuilt from PostgreSQL, so nothing older needs
reading.

``seq`` is per market, gap-free within the stream and strictly increasing (also across rebuilds);
settlement applies each event exactly once by ``(symbol, seq)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Accepted:
    """The engine took the order (stop orders: parked, untriggered). ``resting``: its remainder
    rests in the book after this call (then no done event follows)."""

    kind: ClassVar[str] = "accepted"
    seq: int
    ts_ms: int
    order_id: str
    owner: int
    side: str
    order_type: str
    time_in_force: str
    post_only: bool
    stp: str
    resting: bool
    price: int | None = None
    quantity: int | None = None
    quote_amount: int | None = None
    stop_price: int | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade at the maker's price. ``taker_remaining`` is None for a market buy by quote
    budget, which reports ``taker_quote_remaining`` (unspent quote units) instead."""

    kind: ClassVar[str] = "fill"
    seq: int
    ts_ms: int
    maker_order_id: str
    taker_order_id: str
    maker_owner: int
    taker_owner: int
    taker_side: str
    price: int
    quantity: int
    maker_remaining: int
    taker_remaining: int | None = None
    taker_quote_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The order left the engine. ``reason``: filled, user, ioc, fok, self_trade,
    insufficient_liquidity. ``remaining`` lots never filled (None for a market buy by quote),
    ``quote_remaining`` unspent quote units (market buy by quote only)."""

    kind: ClassVar[str] = "done"
    seq: int
    ts_ms: int
    order_id: str
    owner: int
    side: str
    reason: str
    remaining: int | None = None
    quote_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Refused without matching (``would_take``: a post-only order would have taken)."""

    kind: ClassVar[str] = "rejected"
    seq: int
    ts_ms: int
    order_id: str
    owner: int
    side: str
    reason: str


@dataclass(frozen=True, slots=True)
class SelfTradePrevented:
    """A match between two orders of ``owner`` did not happen; ``mode`` is the taker's STP mode,
    ``quantity`` what would have traded at ``price``. The done events of expired orders follow."""

    kind: ClassVar[str] = "stp"
    seq: int
    ts_ms: int
    taker_order_id: str
    maker_order_id: str
    owner: int
    mode: str
    price: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Triggered:
    """A stop order was activated at ``last_price``; it now runs as ``order_type`` (limit or
    market) with this event's ``seq`` as its time priority."""

    kind: ClassVar[str] = "triggered"
    seq: int
    ts_ms: int
    order_id: str
    owner: int
    side: str
    order_type: str
    stop_price: int
    last_price: int


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """A cancel found nothing to cancel (already filled/cancelled, or never seen): a no-op."""

    kind: ClassVar[str] = "cancel_rejected"
    seq: int
    ts_ms: int
    order_id: str
    reason: str


Event = Accepted | Fill | Done | Rejected | SelfTradePrevented | Triggered | CancelRejected

_INT_FIELDS = frozenset(
    {
        "seq",
        "ts_ms",
        "owner",
        "maker_owner",
        "taker_owner",
        "price",
        "quantity",
        "quote_amount",
        "stop_price",
        "maker_remaining",
        "taker_remaining",
        "taker_quote_remaining",
        "remaining",
        "quote_remaining",
        "last_price",
    }
)
_BOOL_FIELDS = frozenset({"post_only", "resting"})
_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (Accepted, Fill, Done, Rejected, SelfTradePrevented, Triggered, CancelRejected)
}


def _optional_int(value: str) -> int | None:
    return int(value) if value else None


def _flag(value: str) -> bool:
    return value == "1"


def _optional_str(value: str) -> str | None:
    return value or None


def _converter(field: Field[Any]) -> Callable[[str], Any]:
    """How one raw value becomes the field's value."""
    optional = field.default is not MISSING
    if field.name in _INT_FIELDS:
        return _optional_int if optional else int
    if field.name in _BOOL_FIELDS:
        return _flag
    return _optional_str if optional else str


class _Parser:
    """Makes one event type from a positional line split on tabs: the type, then every field of
    the dataclass in declaration order, ``''`` for an absent (None) optional one.

    On the engine's hot path (one call per event), so it fills the slots directly: what the
    frozen dataclass's ``__init__`` does, without its per-field ``object.__setattr__``."""

    __slots__ = ("cls", "converters", "count", "setters")

    def __init__(self, cls: type[Event]) -> None:
        fields = dataclass_fields(cls)
        self.cls = cls
        self.count = len(fields) + 1
        self.setters = tuple(getattr(cls, f.name).__set__ for f in fields)
        self.converters = tuple(_converter(f) for f in fields)

    def __call__(self, values: Sequence[str]) -> Event:
        if len(values) != self.count:
            raise ValueError(
                f"{self.cls.kind}: expected {self.count - 1} fields, got {len(values) - 1}"
            )
        event = object.__new__(self.cls)
        # Same lengths: checked above.
        for set_value, convert, raw in zip(self.setters, self.converters, values[1:]):  # noqa: B905
            set_value(event, convert(raw))
        return event


_PARSERS = {kind: _Parser(cls) for kind, cls in _CLASSES.items()}


def parse_entry(fields: Mapping[str, str]) -> list[Event]:
    """One stream entry's fields -> its events, in order (field ``ev``: one script call's
    events as positional lines)."""
    return parse_script_answer(fields["ev"])


def parse_script_answer(answer: str | bytes | None) -> list[Event]:
    """A script's answer (and a stream entry's ``ev``): events joined by newlines, each a line of
    tab-separated values: the type, then the fields of its dataclass in order (``''`` = None)."""
    if not answer:
        return []
    if isinstance(answer, bytes):
        answer = answer.decode()
    parsers = _PARSERS
    try:
        return [parsers[line[: line.index("\t")]](line.split("\t")) for line in answer.split("\n")]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not engine events: {answer[:200]!r}") from exc
