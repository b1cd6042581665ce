"""The engine's events, as appended to ``events:{SYMBOL}`` and returned by ``Engine`` calls.

An event is a line of tab-separated values: its ``type``, then the fields of the dataclass named
by ``type`` in declaration order (``seq``, ``ts_ms``, ...), ``''`` for an absent (None) optional
one. Integers are ticks (prices), lots (quantities) and quote units (tick*lot, budgets). A script
call's events travel as one text, lines joined by newlines: the call's answer, and one stream
entry (field ``ev``) per call, so a taker walking twenty makers or a batch of orders costs one
XADD. ``parse_entry`` turns one stream entry (from XREAD/XREADGROUP) into its events,
``parse_script_answer`` a script's answer, so settlement and the facade read events the same
way. Entries of the two earlier layouts still parse: field ``events`` holding lines of
name/value pairs, and one event per entry with its fields as the entry's fields.

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


def _positional_builder(cls: type[Event]) -> Callable[[Sequence[str]], Event]:
    """A function making ``cls`` from one positional line split on tabs: the type, then every
    field of the dataclass in declaration order, ``''`` for an absent (None) optional one.

    The engine's hot path (one call per event): generated once per type, it sets the slots
    directly (what the frozen dataclass's ``__init__`` does, without its per-field
    ``object.__setattr__`` calls) after checking the field count."""
    names = [f.name for f in dataclass_fields(cls)]
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__, "count": len(names) + 1}
    lines = ["def build(v):",
             "    if len(v) != count:",
             f"        raise ValueError('{cls.kind}: expected {len(names)} fields, got %d'"
             " % (len(v) - 1))",
             "    o = new(cls)"]
    for i, f in enumerate(dataclass_fields(cls), start=1):
        namespace[f"set_{f.name}"] = getattr(cls, f.name).__set__
        optional = f.default is not MISSING
        if f.name in _INT_FIELDS:
            value = f"int(v[{i}]) if v[{i}] else None" if optional else f"int(v[{i}])"
        elif f.name in _BOOL_FIELDS:
            value = f"v[{i}] == '1'"
        elif optional:
            value = f"v[{i}] or None"
        else:
            value = f"v[{i}]"
        lines.append(f"    set_{f.name}(o, {value})")
    lines.append("    return o")
    exec("\n".join(lines), namespace)  # noqa: S102
    return namespace["build"]  # type: ignore[no-any-return]


_POSITIONAL = {kind: _positional_builder(cls) for kind, cls in _CLASSES.items()}


def parse_event(fields: Mapping[str, str]) -> Event:
    """One event's fields (name -> value) -> the event (raises KeyError on an unknown ``type``).
    The layout of stream entries written before events became positional lines."""
    values = dict(fields)
    kind = values.pop("type")
    return _layout_builder(kind, tuple(values))(tuple(values.values()))


def parse_entry(fields: Mapping[str, str]) -> list[Event]:
    """One stream entry's fields -> its events, in order: field ``ev`` (one script call's events
    as positional lines), or an entry of an older layout: field ``events`` (lines of name/value
    pairs) or one event whose fields are the entry's."""
    if "ev" in fields:
        return parse_script_answer(fields["ev"])
    if "events" in fields:
        return _parse_named_lines(fields["events"])
    return [parse_event(fields)]


def parse_script_answer(answer: str | bytes | None) -> list[Event]:
    """A script's answer (and a stream entry's ``ev``): events joined by newlines, each a line of
    tab-separated values: the type, then the fields of its dataclass in order (``''`` = None)."""
    if not answer:
        return []
    if isinstance(answer, bytes):
        answer = answer.decode()
    builders = _POSITIONAL
    try:
        return [builders[line[:line.index("\t")]](line.split("\t"))
                for line in answer.split("\n")]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not engine events: {answer[:200]!r}") from exc


def _parse_named_lines(text: str) -> list[Event]:
    """Events of the named layout: lines of tab-joined name, value pairs, the first ``type``."""
    events: list[Event] = []
    for line in text.split("\n"):
        parts = line.split("\t")
        if len(parts) % 2 or parts[0] != "type":
            raise ValueError(f"not an engine event: {line!r}")
        events.append(_layout_builder(parts[1], tuple(parts[2::2]))(parts[3::2]))
    return events
