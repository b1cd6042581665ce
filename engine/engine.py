"""The matching engine facade: typed Python calls onto the per-market Lua scripts.

Works on plain integers and ids only (no Django models): prices in ticks, quantities in lots,
quote budgets in quote units (tick*lot); see ``engine.units`` for the conversions and
docs/engine.md for keys, events and guarantees. Works with ``redis.Redis`` and
``redis.cluster.RedisCluster`` (each script touches one market, i.e. one slot)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import redis

from engine.events import Event, Triggered, parse_script_answer
from engine.keys import (
    epoch_key,
    feed_lock_key,
    feed_stats_key,
    market_keys,
    prices_key,
    seq_key,
)
from engine.metrics import ENGINE_CALL_SECONDS
from engine.scripts import SCRIPT_NAMES, library_source, script_source
from engine.units import MAX_ENGINE_INT
from tradehive.errors import DomainError

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
DEFAULT_SEEN_WINDOW_MS = 24 * 3600 * 1000
# Prefix of every epoch token (EPOCH_FORMAT in lib.lua): names the layout of the market's state.
# State whose epoch lacks it counts as missing (recovery rebuilds it from PostgreSQL).
EPOCH_FORMAT = "v3."


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_LIMIT = "stop_limit"
    STOP_MARKET = "stop_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"


# The types that take a limit price; the others are market types.
PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
# Trigger types wait (untriggered) until the last price reaches their stop price: a stop
# (stop-loss) when the price moves against its side (a buy when it rises to the stop, a sell
# when it falls to it), a take-profit when it moves for it (a buy falling, a sell rising).
STOP_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.STOP_MARKET})
TAKE_PROFIT_TYPES = frozenset({OrderType.TAKE_PROFIT_LIMIT, OrderType.TAKE_PROFIT_MARKET})
TRIGGER_TYPES = STOP_TYPES | TAKE_PROFIT_TYPES


def triggers_on_rise(side: str, order_type: str) -> bool:
    """Whether a trigger order (``order_type`` in ``TRIGGER_TYPES``) of ``side`` triggers when
    the last price rises to its stop (last >= stop); otherwise when it falls to it (last <= stop).
    """
    return (side == Side.BUY) == (order_type in STOP_TYPES)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class StpMode(StrEnum):
    EXPIRE_TAKER = "expire_taker"
    EXPIRE_MAKER = "expire_maker"
    EXPIRE_BOTH = "expire_both"


class EngineStateMissing(DomainError):
    """The market has no engine epoch (new market or a flushed Redis): rebuild it first."""

    code = "engine_state_missing"
    status = 503
    default_message = "The market's order book is being recovered."


class InvalidEngineOrder(ValueError):
    """An order the engine cannot take; the orders service runs the same check (``check``)
    before it writes an order. ``field`` names the order field at fault (None: the order's
    shape); ``out_of_range`` says whether a value or product left the integer range."""

    def __init__(
        self, message: str, *, field: str | None = None, out_of_range: bool = False
    ) -> None:
        super().__init__(message)
        self.field = field
        self.out_of_range = out_of_range


def _check_int(name: str, value: int | None, *, required: bool) -> None:
    if value is None:
        if required:
            raise InvalidEngineOrder(f"{name} is required", field=name)
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidEngineOrder(f"{name} must be an int, not {type(value).__name__}", field=name)
    if not 0 < value <= MAX_ENGINE_INT:
        raise InvalidEngineOrder(
            f"{name} must be in 1..2**53-1, got {value}", field=name, out_of_range=True
        )


def _check_product(name: str, lots: int | None, ticks: int | None, *, field: str) -> None:
    """Lots x ticks (the quote units a fill of the whole order costs) within 1..2**53-1: the
    engine subtracts ``take * price`` from budgets and settlement prices fills from it."""
    if lots is not None and ticks is not None and lots * ticks > MAX_ENGINE_INT:
        raise InvalidEngineOrder(
            f"{name} is {lots * ticks} quote units, more than 2**53-1",
            field=field,
            out_of_range=True,
        )


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class EngineOrder:
    """An order as the engine sees it. ``quantity`` in lots, ``price``/``stop_price`` in ticks,
    ``quote_amount`` in quote units (buys of a market type by budget instead of quantity).
    Market orders never rest (their time in force is ignored: they are IOC by nature)."""

    order_id: str
    owner: int
    side: Side
    order_type: OrderType
    quantity: int | None = None
    price: int | None = None
    quote_amount: int | None = None
    stop_price: int | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    stp: StpMode = StpMode.EXPIRE_TAKER

    def check(self) -> None:
        """Raise ``InvalidEngineOrder`` unless the engine can take this order as it is."""
        if not isinstance(self.order_id, str) or not ORDER_ID_RE.match(self.order_id):
            raise InvalidEngineOrder(f"order_id must match {ORDER_ID_RE.pattern}")
        if not isinstance(self.owner, int) or isinstance(self.owner, bool) or self.owner < 0:
            raise InvalidEngineOrder("owner must be a non-negative int")
        Side(self.side), OrderType(self.order_type), TimeInForce(self.time_in_force)
        StpMode(self.stp)
        priced = self.order_type in PRICED_TYPES
        trigger = self.order_type in TRIGGER_TYPES
        _check_int("stop_price", self.stop_price, required=trigger)
        if not trigger and self.stop_price is not None:
            raise InvalidEngineOrder("stop_price is for stop and take-profit orders only")
        if priced:
            _check_int("price", self.price, required=True)
            _check_int("quantity", self.quantity, required=True)
            if self.quote_amount is not None:
                raise InvalidEngineOrder("limit orders take a quantity, not a quote amount")
        else:
            if self.price is not None:
                raise InvalidEngineOrder("market orders have no price")
            if (self.quantity is None) == (self.quote_amount is None):
                raise InvalidEngineOrder("market orders take exactly one of quantity/quote")
            _check_int("quantity", self.quantity, required=False)
            _check_int("quote_amount", self.quote_amount, required=False)
            if self.quote_amount is not None and self.side != Side.BUY:
                raise InvalidEngineOrder("only market buys spend a quote amount")
        if self.post_only and (
            self.order_type != OrderType.LIMIT or self.time_in_force != TimeInForce.GTC
        ):
            raise InvalidEngineOrder("post_only is for GTC limit orders only")
        _check_product("quantity x price", self.quantity, self.price, field="quantity")
        _check_product("quantity x stop_price", self.quantity, self.stop_price, field="quantity")

    def script_args(self) -> list[str]:
        """ARGV 1..11 of submit.lua (and the first fields of a rebuild row)."""
        tif = self.time_in_force
        if self.order_type not in PRICED_TYPES:
            tif = TimeInForce.IOC
        return [
            self.order_id,
            str(self.owner),
            str(self.side),
            str(self.order_type),
            str(tif),
            "1" if self.post_only else "0",
            _opt(self.price),
            _opt(self.quantity),
            _opt(self.quote_amount),
            _opt(self.stop_price),
            str(self.stp),
        ]


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """A cancel inside ``Engine.submit_many`` (pipelined flows mixing submits and cancels)."""

    order_id: str


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """An order the engine holds: in the book (``untriggered`` False) or a parked trigger order
    (a stop or take-profit waiting for its stop price).

    ``remaining`` lots (None for a market-type buy by quote budget; an untriggered order's is its
    quantity, and ``rebuild`` takes None for it), ``seq`` its engine sequence (its priority),
    ``accepted_ms`` when it became eligible to match (Redis TIME)."""

    order: EngineOrder
    remaining: int | None
    seq: int | None = None
    accepted_ms: int | None = None
    untriggered: bool = False


@dataclass(frozen=True, slots=True)
class Depth:
    """Price levels best first as (price ticks, lots); ``sequence`` = the market's last seq."""

    sequence: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    sequence: int
    epoch: str | None
    bids: list[RestingOrder]
    asks: list[RestingOrder]
    stops: list[RestingOrder]


def _int_or_none(raw: str) -> int | None:
    return int(raw) if raw != "" else None


def _resting_from_string(order_id: Any, value: Any) -> RestingOrder:
    """One order string of lib.lua (fields tab-joined: rem owner side price seq state type tif
    post_only qty quote stop stp ts) -> its RestingOrder."""
    (rem, owner, side, price, seq, state, order_type, tif, post_only, qty, quote, stop, stp, ts) = (
        _text(value).split("\t")
    )
    order = EngineOrder(
        order_id=_text(order_id),
        owner=int(owner),
        side=Side(side),
        order_type=OrderType(order_type),
        quantity=_int_or_none(qty),
        price=_int_or_none(price),
        quote_amount=_int_or_none(quote),
        stop_price=_int_or_none(stop),
        time_in_force=TimeInForce(tif),
        post_only=post_only == "1",
        stp=StpMode(stp),
    )
    return RestingOrder(
        order=order,
        remaining=_int_or_none(rem),
        seq=int(seq),
        accepted_ms=int(ts),
        untriggered=state == "untriggered",
    )


def _resting_list(flat: Sequence[Any]) -> list[RestingOrder]:
    return [_resting_from_string(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@lru_cache(maxsize=4096)
def _keys(symbol: str) -> tuple[str, ...]:
    return tuple(market_keys(symbol))


class Engine:
    """One instance per Redis client. The engine's Lua runs as a Redis function library where
    the server has one (Redis 7+: loaded once, ``FCALL``), else as ``EVALSHA`` scripts (Redis
    6.2); either is reloaded when Redis lost it (a restart or a flush).

    Every call is atomic for its market. Events come back parsed and are also appended to
    ``events:{SYMBOL}`` for settlement. Calls on a market without an epoch raise
    ``EngineStateMissing`` (a flushed or new Redis): the caller rebuilds from PostgreSQL."""

    def __init__(
        self,
        client: redis.Redis | redis.cluster.RedisCluster,
        *,
        seen_window_ms: int = DEFAULT_SEEN_WINDOW_MS,
        trigger_batch: int = 100,
        use_functions: bool = True,
    ) -> None:
        self.redis = client
        self.seen_window_ms = seen_window_ms
        self.trigger_batch = trigger_batch
        self._scripts = {name: client.register_script(script_source(name)) for name in SCRIPT_NAMES}
        self._prefix, self._library = library_source()
        self._use_functions = use_functions  # False: EVALSHA even where FCALL is possible
        self._functions: bool | None = None  # None: not known yet whether the server has them

    def _ensure_loaded(self) -> None:
        """On the first call, and again after Redis lost the code (a call failed with NOSCRIPT
        or "Function not found"): learns whether the server runs function libraries and loads
        the library (on every primary of a cluster), else the scripts it lacks."""
        if self._functions is not None:
            return
        if self._use_functions:
            try:  # REPLACE: the same code, if another process loaded it already
                self.redis.function_load(self._library, replace=True)
                self._functions = True
                return
            except redis.ResponseError as exc:
                if "unknown command" not in str(exc).lower():
                    raise
        scripts = list(self._scripts.values())
        exists = self.redis.script_exists(*[s.sha for s in scripts])
        for script, present in zip(scripts, exists, strict=True):
            if not present:
                script.sha = self.redis.script_load(script.script)
        self._functions = False

    def _command(
        self, call: tuple[str, Any, Sequence[str]], keys: Sequence[str] | None = None
    ) -> tuple[Any, ...]:
        """The command running ``call`` = (symbol, operation name or an object with ``sha``,
        args) on the market's keys (or ``keys``)."""
        symbol, operation, args = call
        keys = _keys(symbol) if keys is None else keys
        if not isinstance(operation, str):  # a bare script (bench/engine.py's ceiling)
            return ("EVALSHA", operation.sha, len(keys), *keys, *args)
        if self._functions:
            return ("FCALL", self._prefix + operation, len(keys), *keys, *args)
        return ("EVALSHA", self._scripts[operation].sha, len(keys), *keys, *args)

    def _run(
        self, name: str, symbol: str, args: Sequence[str], keys: Sequence[str] | None = None
    ) -> Any:
        """Runs one operation; NOSTATE -> ``EngineStateMissing``."""
        for attempt in range(2):
            self._ensure_loaded()
            try:
                with ENGINE_CALL_SECONDS.labels(operation=name).time():
                    return self.redis.execute_command(*self._command((symbol, name, args), keys))
            except redis.ResponseError as exc:
                if attempt == 0 and _missing(exc):  # Redis lost the library or the script
                    self._functions = None
                    continue
                if str(exc).startswith("NOSTATE"):
                    raise EngineStateMissing(f"{symbol}: {exc}") from exc
                raise
        raise AssertionError("unreachable")

    def submit(self, symbol: str, order: EngineOrder) -> list[Event]:
        """Accept and match one order. Idempotent by ``order_id``: an id seen within the
        ``seen_window_ms`` window (or still resting) returns [] and changes nothing."""
        order.check()
        return parse_script_answer(
            self._run("submit", symbol, [*order.script_args(), str(self.seen_window_ms)])
        )

    def submit_many(
        self,
        orders: Iterable[tuple[str, EngineOrder | CancelRequest]],
        *,
        batch: int = 500,
        per_call: int = 64,
    ) -> list[list[Event]]:
        """Submits (and cancels) in bulk, answers in order; every item is validated before
        anything is sent. Operations run in the given order per market. Resubmitting after a
        failure is safe (idempotent ids).

        Consecutive operations of one market share one ``submit_batch.lua`` call (at most
        ``per_call`` of them): one script run and one stream entry, each operation exactly as
        ``submit``/``cancel`` would run it. Calls are pipelined about ``batch`` operations per
        write; on a plain ``redis.Redis`` write k+1 goes out before write k's answers are read
        and parsed (one connection, so Redis still runs them in order), so Python's encoding
        and parsing overlap the scripts' run time. ``RedisCluster`` gets one cluster pipeline
        per write."""
        if per_call < 1 or batch < 1:
            raise ValueError("batch and per_call must be positive")
        window = str(self.seen_window_ms)
        calls: list[tuple[str, Any, list[str]]] = []
        previous, in_call = None, 0
        for symbol, item in orders:
            if not isinstance(item, CancelRequest):
                item.check()
            if symbol != previous or in_call == per_call:
                calls.append((symbol, "submit_batch", [window]))
                previous, in_call = symbol, 0
            args = calls[-1][2]
            if isinstance(item, CancelRequest):
                args += ("c", item.order_id)
            else:
                args.append("s")
                args += item.script_args()
            in_call += 1
        self._ensure_loaded()
        calls_per_write = max(1, batch // per_call)
        chunks = [calls[i : i + calls_per_write] for i in range(0, len(calls), calls_per_write)]
        if isinstance(self.redis, redis.Redis):
            answers = self._stream(chunks, parse=_parse_batch_answer)
        else:
            answers = [
                _parse_batch_answer(answer) for chunk in chunks for answer in self._pipeline(chunk)
            ]
        missing = [i for i, a in enumerate(answers) if _missing(a)]
        if missing:  # Redis restarted mid-run: reload, then rerun those calls in order
            self._functions = None
            self._ensure_loaded()
            for i in missing:
                answers[i] = _parse_batch_answer(self._pipeline([calls[i]])[0])
        results: list[list[Event]] = []
        for (symbol, _, _), answer in zip(calls, answers, strict=True):
            if isinstance(answer, Exception):
                if str(answer).startswith("NOSTATE"):
                    raise EngineStateMissing(f"{symbol}: {answer}") from answer
                raise answer
            results += answer
        return results

    def _pipeline(self, calls: Sequence[tuple[str, Any, list[str]]]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for call in calls:
            # execute_command: redis-py's ClusterPipeline blocks its evalsha() helper, yet routes
            # a raw EVALSHA by its keys (all in one slot here).
            pipe.execute_command(*self._command(call))
        with ENGINE_CALL_SECONDS.labels(operation="pipeline").time():
            return list(pipe.execute(raise_on_error=False))

    def _stream(
        self,
        chunks: Sequence[Sequence[tuple[str, Any, list[str]]]],
        parse: Callable[[Any], Any] | None = None,
    ) -> list[Any]:
        """Writes batch k+1, then reads batch k's answers (``parse``d, if given, while Redis
        runs batch k+1)."""
        assert isinstance(self.redis, redis.Redis)
        pool = self.redis.connection_pool
        connection = pool.get_connection("EVALSHA")
        answers: list[Any] = []
        in_flight = 0
        try:
            for chunk in chunks:
                connection.send_packed_command(
                    connection.pack_commands([self._command(call) for call in chunk])
                )
                answers += _read_answers(connection, in_flight, parse)
                in_flight = len(chunk)
            answers += _read_answers(connection, in_flight, parse)
        except BaseException:
            connection.disconnect()  # answers may be half read: never reuse this connection
            raise
        finally:
            pool.release(connection)
        return answers

    def cancel(self, symbol: str, order_id: str) -> list[Event]:
        """Cancel one order: [Done(reason='user')], or [CancelRejected] if it is already gone."""
        return parse_script_answer(
            self._run("cancel", symbol, [order_id, str(self.seen_window_ms)])
        )

    def cancel_all(self, symbol: str, owner: int) -> list[Event]:
        """Cancel all of ``owner``'s open and untriggered orders in this market, oldest first."""
        return parse_script_answer(
            self._run("cancel_all", symbol, [str(owner), str(self.seen_window_ms)])
        )

    def trigger(self, symbol: str, last_price_ticks: int, *, house: bool = False) -> list[Event]:
        """Activate the trigger orders (stops, take-profits) crossed by ``last_price_ticks``
        (several script calls of at most ``trigger_batch`` orders each, so no single call blocks
        Redis for long).

        ``house`` (feed-priced markets, ``last_price_ticks`` an observed feed price): triggered
        orders that cannot rest (market types; limit types IOC/FOK) fill whole against the house
        at that price, like market orders there (``feed_take``); GTC limit types go to the
        book."""
        _check_int("last_price_ticks", last_price_ticks, required=True)
        events: list[Event] = []
        while True:
            batch = parse_script_answer(
                self._run(
                    "trigger",
                    symbol,
                    [
                        str(last_price_ticks),
                        str(self.trigger_batch),
                        str(self.seen_window_ms),
                        "1" if house else "0",
                    ],
                )
            )
            events.extend(batch)
            if sum(isinstance(e, Triggered) for e in batch) < self.trigger_batch:
                return events

    def depth(self, symbol: str, limit: int = 50) -> Depth:
        """The best ``limit`` levels per side, aggregated; O(limit), read atomically."""
        seq, bids, asks = self._run("depth", symbol, [str(limit)])
        return Depth(sequence=int(seq), bids=_pairs(bids), asks=_pairs(asks))

    def best_bid_ask(self, symbol: str) -> tuple[int | None, int | None]:
        book = self.depth(symbol, 1)
        return (book.bids[0][0] if book.bids else None, book.asks[0][0] if book.asks else None)

    def snapshot(self, symbol: str) -> BookSnapshot:
        """Every resting order in priority order and every untriggered order in trigger order."""
        seq, epoch, bids, asks, stops = self._run("snapshot", symbol, [])
        return BookSnapshot(
            sequence=int(seq),
            epoch=_text(epoch) or None,
            bids=_resting_list(bids),
            asks=_resting_list(asks),
            stops=_resting_list(stops),
        )

    def rebuild(self, symbol: str, open_orders: Sequence[RestingOrder], *, min_seq: int = 0) -> str:
        """Replace the market's engine state with ``open_orders`` and set a new epoch.

        Pass the orders in their original priority (engine sequence / creation order). Orders
        carrying ``seq`` keep it (then seqs must strictly increase); orders without one get
        fresh seqs after ``min_seq`` (pass the last seq settlement applied, so the event
        sequence never goes back after a flushed Redis). One atomic script call; the market
        should not take orders meanwhile. Returns the new epoch."""
        with_seq = [o.seq is not None for o in open_orders]
        if any(with_seq) and not all(with_seq):
            raise InvalidEngineOrder("either every open order carries its seq or none does")
        rows: list[str] = []
        previous = min_seq if not all(with_seq) or not open_orders else 0
        for position, resting in enumerate(open_orders, start=1):
            resting.order.check()
            seq = resting.seq if resting.seq is not None else min_seq + position
            if seq <= previous:
                raise InvalidEngineOrder("open orders must be in strictly increasing seq order")
            previous = seq
            trigger = resting.order.order_type in TRIGGER_TYPES
            if resting.untriggered and not trigger:
                raise InvalidEngineOrder(
                    f"{resting.order.order_id}: only stops and take-profits are untriggered"
                )
            if not resting.untriggered:
                if resting.order.price is None or resting.remaining is None:
                    raise InvalidEngineOrder(f"{resting.order.order_id}: only limits rest")
                _check_int("remaining", resting.remaining, required=True)
            args = resting.order.script_args()
            rows += [
                *args[:7],
                _opt(resting.order.quantity),
                _opt(resting.remaining),
                args[8],
                args[9],
                args[10],
                str(seq),
                _opt(resting.accepted_ms),
                "untriggered" if resting.untriggered else "open",
            ]
        epoch = EPOCH_FORMAT + uuid.uuid4().hex
        self._run("rebuild", symbol, [epoch, str(min_seq), *rows])
        return epoch

    def epoch(self, symbol: str) -> str | None:
        """The market's epoch token; None when it has no state (or an epoch of another format,
        which the scripts refuse too: recovery rebuilds it)."""
        value = self.redis.get(epoch_key(symbol))
        if value is None or not _text(value).startswith(EPOCH_FORMAT):
            return None
        return _text(value)

    def has_state(self, symbol: str) -> bool:
        return self.epoch(symbol) is not None

    # --- price feeds (docs/feeds.md): additive; the house is the counterparty ----------------

    def _feed_pipeline(
        self, calls: Sequence[tuple[str, str, Sequence[str], Sequence[str]]]
    ) -> list[Any]:
        """Runs each (symbol, operation, keys, args) in one pipeline; reloads once if Redis lost
        the library or a script."""
        for attempt in range(2):
            self._ensure_loaded()
            pipe = self.redis.pipeline(transaction=False)
            for symbol, name, keys, args in calls:
                pipe.execute_command(*self._command((symbol, name, args), keys))
            answers = list(pipe.execute(raise_on_error=False))
            if attempt == 0 and any(_missing(a) for a in answers):
                self._functions = None  # Redis restarted between the check and the pipeline
                continue
            return answers
        return answers

    def feed_observe_many(
        self, observations: Sequence[tuple[str, PriceObservation]], *, maxlen: int, max_age_ms: int
    ) -> list[str]:
        """Append each observation to its market's window ``prices:{S}`` (one pipeline).
        Returns the entry ids (``<received ms>-<n>``). Needs no engine state."""
        calls = []
        for symbol, obs in observations:
            _check_int("price_ticks", obs.price_ticks, required=True)
            calls.append(
                (
                    symbol,
                    "feed_observe",
                    (prices_key(symbol), seq_key(symbol), feed_stats_key(symbol)),
                    (
                        str(obs.price_ticks),
                        obs.raw,
                        _opt(obs.source_ts_ms),
                        str(maxlen),
                        str(max_age_ms),
                    ),
                )
            )
        answers = self._feed_pipeline(calls)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return [_text(a) for a in answers]

    def feed_fill_many(
        self,
        symbols: Sequence[str],
        *,
        window_limit: int = 256,
        lock_token: str | None = None,
        lock_ms: int = 5000,
    ) -> dict[str, FeedPass | EngineStateMissing]:
        """One matching pass per market against its window since the last pass (one pipeline).
        A market without engine state maps to ``EngineStateMissing`` (its window is kept).
        A pass whose ``stop_prices`` is not empty holds ``feedlock:{S}`` with ``lock_token``
        for ``lock_ms``: the caller triggers those stops, then releases it."""
        lock_token = lock_token or uuid.uuid4().hex
        calls = [
            (
                symbol,
                "feed_fill",
                (*_keys(symbol), prices_key(symbol), feed_stats_key(symbol), feed_lock_key(symbol)),
                (str(window_limit), lock_token, str(lock_ms), str(self.seen_window_ms)),
            )
            for symbol in symbols
        ]
        results: dict[str, FeedPass | EngineStateMissing] = {}
        for (symbol, *_), answer in zip(calls, self._feed_pipeline(calls), strict=True):
            if isinstance(answer, Exception):
                if str(answer).startswith("NOSTATE"):
                    results[symbol] = EngineStateMissing(f"{symbol}: {answer}")
                    continue
                raise answer
            events, stop_prices, observations, distinct, busy = answer
            results[symbol] = FeedPass(
                events=parse_script_answer(events),
                stop_prices=[int(p) for p in stop_prices],
                observations=int(observations),
                distinct_prices=int(distinct),
                busy=busy == 1,
            )
        return results

    def feed_fill(self, symbol: str, *, window_limit: int = 256) -> FeedPass:
        """``feed_fill_many`` for one market; raises ``EngineStateMissing``."""
        result = self.feed_fill_many([symbol], window_limit=window_limit)[symbol]
        if isinstance(result, EngineStateMissing):
            raise result
        return result

    def feed_take(self, symbol: str, order: EngineOrder, *, stale_after_ms: int) -> list[Event]:
        """Accept a market (or IOC limit) order of a feed-priced market and fill it whole
        against the house at the latest observation no older than ``stale_after_ms``.
        Idempotent by ``order_id`` like ``submit``."""
        order.check()
        if order.order_type not in (OrderType.MARKET, OrderType.LIMIT) or (
            order.order_type == OrderType.LIMIT and order.time_in_force != TimeInForce.IOC
        ):
            raise InvalidEngineOrder("feed_take takes market orders or IOC limits")
        keys = (*_keys(symbol), prices_key(symbol))
        args = [*order.script_args(), str(self.seen_window_ms), str(stale_after_ms)]
        return parse_script_answer(self._run("feed_take", symbol, args, keys))


# --- price feeds: value types ---------------------------------------------------------------------

HOUSE_ORDER_ID = "house"  # the counterparty id in feed fills (owner HOUSE_OWNER)
HOUSE_OWNER = 0


@dataclass(frozen=True, slots=True)
class PriceObservation:
    """One price from a feed: ``price_ticks`` on the market's grid, ``raw`` as the source sent
    it, ``source_ts_ms`` the source's own timestamp (None when the source gives none)."""

    price_ticks: int
    raw: str
    source_ts_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FeedPass:
    """What one matching pass did: its events, the distinct window prices that cross a parked
    stop (the caller runs ``trigger`` with each, in order, then releases the market's lock),
    observations read, distinct prices."""

    events: list[Event]
    stop_prices: list[int]
    observations: int
    distinct_prices: int
    busy: bool = False  # another pass held the market's lock: nothing was done


def _missing(answer: Any) -> bool:
    """Whether a call failed because Redis lacks the script or the function library (NOSCRIPT;
    a function library is gone after FUNCTION FLUSH or on a fresh node)."""
    return isinstance(answer, redis.exceptions.NoScriptError) or (
        isinstance(answer, redis.ResponseError) and "Function not found" in str(answer)
    )


def _read_answers(connection: Any, count: int, parse: Callable[[Any], Any] | None) -> list[Any]:
    answers: list[Any] = []
    for _ in range(count):
        try:
            answers.append(connection.read_response())
        except redis.ResponseError as exc:  # a script error is that call's answer
            answers.append(exc)
    return answers if parse is None else [parse(answer) for answer in answers]


def _parse_batch_answer(answer: Any) -> Any:
    """A submit_batch answer -> each operation's events; an error (NOSTATE, NOSCRIPT, ...) stays
    as it is."""
    if isinstance(answer, Exception):
        return answer
    return [parse_script_answer(events) for events in answer]


def _pairs(flat: Sequence[Any]) -> list[tuple[int, int]]:
    return [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]
