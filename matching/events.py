"""The engine's events, as appended to ``events:{SYMBOL}`` and returned by ``Engine`` calls.

An event is flat string fields: ``type``, ``seq``, ``ts_ms`` and the fields of the dataclass
named by ``type`` (same names). Integers are ticks (prices), lots (quantities) and quote units
(tick*lot, budgets). Optional fields are absent when None. A script call's events travel as one
text, events joined by newlines and fields (name, value, ...) by tabs: the call's answer, and
one stream entry (field ``events``) per call, so a taker walking twenty makers or a batch of
orders costs one XADD. ``parse_entry`` turns one stream entry (from XREAD/XREADGROUP) into its
events, ``parse_script_answer`` a script's answer, so settlement and the facade read events the
same way. Entries written before that layout (one event per entry, its fields as the entry's
fields) still parse.

``seq`` is per market, gap-free within the stream and strictly increasing (also across rebuilds);
settlement applies each event exactly once by ``(symbol, seq)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from dataclasses import fields as dataclass_fields
from functools import lru_cache
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

_INT_FIELDS = frozenset({
    "seq", "ts_ms", "owner", "maker_owner", "taker_owner", "price", "quantity", "quote_amount",
    "stop_price", "maker_remaining", "taker_remaining", "taker_quote_remaining", "remaining",
    "quote_remaining", "last_price",
})
_BOOL_FIELDS = frozenset({"post_only", "resting"})
_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (Accepted, Fill, Done, Rejected, SelfTradePrevented, Triggered, CancelRejected)
}


_FIELDS = {kind: {f.name: f for f in dataclass_fields(cls)} for kind, cls in _CLASSES.items()}


@lru_cache(maxsize=256)
def _layout_builder(kind: str, names: tuple[str, ...]) -> Callable[[Sequence[str]], Event]:
    """A function making the event ``kind`` from the raw values of ``names``, in that order.

    Generated once per layout (the engine emits a few dozen: a type and which optional fields it
    carries), so parsing an answer is one call per event without a per-field loop: it is on the
    engine's hot path. Raises TypeError/KeyError like the dataclass on unknown or missing
    fields."""
    cls = _CLASSES[kind]
    known = _FIELDS[kind]
    unknown = [name for name in names if name not in known]
    if unknown or len(set(names)) != len(names):
        raise TypeError(f"{kind}: unknown or repeated fields {names}")
    missing = [n for n, f in known.items() if f.default is MISSING and n not in names]
    if missing:
        raise TypeError(f"{kind}: missing fields {missing}")
    args = []
    for i, name in enumerate(names):
        if name in _INT_FIELDS:
            args.append(f"{name}=int(v[{i}])")
        elif name in _BOOL_FIELDS:
            args.append(f"{name}=v[{i}] == '1'")
        else:
            args.append(f"{name}=v[{i}]")
    namespace: dict[str, Any] = {"cls": cls}
    exec(f"def build(v):\n    return cls({', '.join(args)})\n", namespace)  # noqa: S102
    return namespace["build"]  # type: ignore[no-any-return]


def parse_event(fields: Mapping[str, str]) -> Event:
    """One event's fields -> the event (raises KeyError on an unknown ``type``)."""
    values = dict(fields)
    kind = values.pop("type")
    return _layout_builder(kind, tuple(values))(tuple(values.values()))


def parse_entry(fields: Mapping[str, str]) -> list[Event]:
    """One stream entry's fields -> its events, in order: field ``events`` (one script call's
    events), or an entry of the older one-event-per-entry layout."""
    if "events" in fields:
        return parse_script_answer(fields["events"])
    return [parse_event(fields)]


def parse_script_answer(answer: str | bytes | None) -> list[Event]:
    """A script's answer: events joined by newlines, fields (name, value, ...) by tabs, the first
    pair being ``type``."""
    if not answer:
        return []
    if isinstance(answer, bytes):
        answer = answer.decode()
    events: list[Event] = []
    for line in answer.split("\n"):
        parts = line.split("\t")
        if len(parts) % 2 or parts[0] != "type":
            raise ValueError(f"not an engine event: {line!r}")
        events.append(_layout_builder(parts[1], tuple(parts[2::2]))(parts[3::2]))
    return events
