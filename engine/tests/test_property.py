"""Random submits/cancels against a small pure-Python reference order book.

After every step the engine and the reference agree on the fills and the resting book; the
book is never crossed; depth equals the resting orders; every order's quantity is conserved
(filled + resting + cancelled == quantity)."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis as redis_lib
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.engine import (
    CancelRequest,
    Engine,
    EngineOrder,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from engine.events import Accepted, Done, Fill, Rejected
from engine.tests.conftest import SYMBOL


@dataclass
class RefOrder:
    order_id: str
    owner: int
    side: str
    price: int
    remaining: int
    seq: int


@dataclass
class ReferenceBook:
    """Price-time priority in plain lists; the engine's semantics spelled out simply."""

    bids: list[RefOrder] = field(default_factory=list)
    asks: list[RefOrder] = field(default_factory=list)
    seq: int = 0

    def _sort(self) -> None:
        self.bids.sort(key=lambda o: (-o.price, o.seq))
        self.asks.sort(key=lambda o: (o.price, o.seq))

    def _crosses(self, side: str, limit: int | None, maker: RefOrder) -> bool:
        if limit is None:
            return True
        return maker.price <= limit if side == "buy" else maker.price >= limit

    def submit(self, order: EngineOrder) -> list[tuple[str, str, int, int]]:
        side, limit = str(order.side), order.price
        opposite = self.asks if side == "buy" else self.bids
        if order.post_only and opposite and self._crosses(side, limit, opposite[0]):
            return []
        self.seq += 1
        remaining, budget = order.quantity, order.quote_amount
        if order.time_in_force == TimeInForce.FOK and order.order_type == OrderType.LIMIT:
            fillable = 0
            for maker in opposite:
                if not self._crosses(side, limit, maker):
                    break
                if maker.owner == order.owner:
                    if order.stp != StpMode.EXPIRE_MAKER:
                        break
                    continue
                fillable += maker.remaining
            if remaining is not None and fillable < remaining:
                return []
        fills = []
        expired = False
        while opposite and (remaining is None or remaining > 0):
            maker = opposite[0]
            if not self._crosses(side, limit, maker):
                break
            take = maker.remaining if remaining is None else min(maker.remaining, remaining)
            if budget is not None:
                take = min(take, budget // maker.price)
                if take == 0:
                    break
            if maker.owner == order.owner:
                if order.stp != StpMode.EXPIRE_TAKER:
                    opposite.pop(0)
                if order.stp != StpMode.EXPIRE_MAKER:
                    expired = True
                    break
                continue
            fills.append((maker.order_id, order.order_id, maker.price, take))
            maker.remaining -= take
            if remaining is not None:
                remaining -= take
            if budget is not None:
                budget -= take * maker.price
            if maker.remaining == 0:
                opposite.pop(0)
        rests = (
            order.order_type == OrderType.LIMIT
            and order.time_in_force == TimeInForce.GTC
            and not expired
            and remaining
        )
        if rests:
            assert limit is not None
            assert remaining is not None
            book = self.bids if side == "buy" else self.asks
            book.append(RefOrder(order.order_id, order.owner, side, limit, remaining, self.seq))
            self._sort()
        return fills

    def cancel(self, order_id: str) -> None:
        self.bids = [o for o in self.bids if o.order_id != order_id]
        self.asks = [o for o in self.asks if o.order_id != order_id]

    def resting(self) -> list[tuple[str, str, int, int]]:
        return [(o.order_id, o.side, o.price, o.remaining) for o in [*self.bids, *self.asks]]


prices = st.integers(min_value=95, max_value=105)
quantities = st.integers(min_value=1, max_value=6)
owners = st.integers(min_value=1, max_value=3)
stp_modes = st.sampled_from(list(StpMode))


class EngineAgainstReference(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.redis = redis_lib.Redis.from_url(django_settings.REDIS_URL, decode_responses=True)
        self.redis.flushdb()
        self.engine = Engine(self.redis)
        self.engine.rebuild(SYMBOL, [])
        self.reference = ReferenceBook()
        self.next_id = 0
        self.ids: list[str] = []
        self.quantity: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.closed: dict[str, int] = {}

    def _submit(self, order: EngineOrder) -> None:
        expected = self.reference.submit(order)
        self._check_submitted(order, expected, self.engine.submit(SYMBOL, order))

    def _check_submitted(self, order: EngineOrder, expected: list, events: list) -> None:
        fills = [
            (e.maker_order_id, e.taker_order_id, e.price, e.quantity)
            for e in events
            if isinstance(e, Fill)
        ]
        assert fills == expected
        self.ids.append(order.order_id)
        self._account(events)

    def _account(self, events: list) -> None:
        for event in events:
            if isinstance(event, Accepted) and event.quantity is not None:
                self.quantity[event.order_id] = event.quantity
            elif isinstance(event, Fill):
                for order_id in (event.maker_order_id, event.taker_order_id):
                    self.filled[order_id] = self.filled.get(order_id, 0) + event.quantity
            elif isinstance(event, Done) and event.remaining is not None:
                self.closed[event.order_id] = event.remaining
            elif isinstance(event, Rejected):
                assert event.reason == "would_take"

    def _new_id(self) -> str:
        self.next_id += 1
        return f"o{self.next_id}"

    @rule(
        side=st.sampled_from(["buy", "sell"]),
        price=prices,
        quantity=quantities,
        owner=owners,
        tif=st.sampled_from(["GTC", "GTC", "IOC", "FOK"]),
        post_only=st.booleans(),
        stp=stp_modes,
    )
    def limit(
        self,
        side: str,
        price: int,
        quantity: int,
        owner: int,
        tif: str,
        post_only: bool,
        stp: StpMode,
    ) -> None:
        self._submit(
            EngineOrder(
                self._new_id(),
                owner,
                Side(side),
                OrderType.LIMIT,
                quantity=quantity,
                price=price,
                time_in_force=TimeInForce(tif),
                post_only=post_only and tif == "GTC",
                stp=stp,
            )
        )

    @rule(side=st.sampled_from(["buy", "sell"]), quantity=quantities, owner=owners, stp=stp_modes)
    def market_by_quantity(self, side: str, quantity: int, owner: int, stp: StpMode) -> None:
        self._submit(
            EngineOrder(
                self._new_id(),
                owner,
                Side.BUY if side == "buy" else Side.SELL,
                OrderType.MARKET,
                quantity=quantity,
                stp=stp,
            )
        )

    @rule(quote=st.integers(min_value=50, max_value=1200), owner=owners, stp=stp_modes)
    def market_buy_by_quote(self, quote: int, owner: int, stp: StpMode) -> None:
        self._submit(
            EngineOrder(
                self._new_id(), owner, Side.BUY, OrderType.MARKET, quote_amount=quote, stp=stp
            )
        )

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def cancel(self, pick: int) -> None:
        order_id = self.ids[pick % len(self.ids)] if self.ids else "nothing"
        self.reference.cancel(order_id)
        for event in self.engine.cancel(SYMBOL, order_id):
            if isinstance(event, Done):
                self.closed[event.order_id] = event.remaining or 0

    @rule(
        ops=st.lists(
            st.tuples(
                st.sampled_from(["limit", "limit", "limit", "market", "cancel"]),
                st.sampled_from(["buy", "sell"]),
                prices,
                quantities,
                owners,
                st.sampled_from(["GTC", "GTC", "IOC", "FOK"]),
                stp_modes,
                st.booleans(),
                st.integers(min_value=0, max_value=10_000),
            ),
            min_size=1,
            max_size=24,
        ),
        per_call=st.integers(min_value=1, max_value=24),
    )
    def batch(self, ops: list, per_call: int) -> None:
        """Operations sent together (Engine.submit_many, per_call in one script call): each
        must do what the reference does one at a time, also against orders that came to rest
        or left earlier in the same call."""
        flow: list[EngineOrder | CancelRequest] = []
        expected: list = []
        for kind, side, price, quantity, owner, tif, stp, post_only, pick in ops:
            if kind == "cancel":
                ids = self.ids + [o.order_id for o in flow if isinstance(o, EngineOrder)]
                order_id = ids[pick % len(ids)] if ids else "nothing"
                self.reference.cancel(order_id)
                flow.append(CancelRequest(order_id))
                expected.append(None)
                continue
            if kind == "market":
                order = EngineOrder(
                    self._new_id(), owner, Side(side), OrderType.MARKET, quantity=quantity, stp=stp
                )
            else:
                order = EngineOrder(
                    self._new_id(),
                    owner,
                    Side(side),
                    OrderType.LIMIT,
                    quantity=quantity,
                    price=price,
                    time_in_force=TimeInForce(tif),
                    post_only=post_only and tif == "GTC",
                    stp=stp,
                )
            flow.append(order)
            expected.append(self.reference.submit(order))
        answers = self.engine.submit_many(
            [(SYMBOL, item) for item in flow], batch=per_call * 2, per_call=per_call
        )
        for item, want, events in zip(flow, expected, answers, strict=True):
            if isinstance(item, CancelRequest):
                self._account(events)
            else:
                self._check_submitted(item, want, events)

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def resubmit_a_seen_id(self, pick: int) -> None:
        if self.ids:
            order_id = self.ids[pick % len(self.ids)]
            order = EngineOrder(order_id, 1, Side.BUY, OrderType.LIMIT, quantity=1, price=200)
            assert self.engine.submit(SYMBOL, order) == []

    @invariant()
    def same_book_never_crossed_and_quantity_conserved(self) -> None:
        if not hasattr(self, "engine"):
            return
        snapshot = self.engine.snapshot(SYMBOL)
        resting = [
            (o.order.order_id, str(o.order.side), o.order.price, o.remaining)
            for o in [*snapshot.bids, *snapshot.asks]
        ]
        assert resting == self.reference.resting()
        depth = self.engine.depth(SYMBOL, 100)
        if depth.bids and depth.asks:
            assert depth.bids[0][0] < depth.asks[0][0]
        for levels, orders in ((depth.bids, snapshot.bids), (depth.asks, snapshot.asks)):
            totals: dict[int, int] = {}
            for o in orders:
                assert o.order.price is not None
                assert o.remaining is not None
                totals[o.order.price] = totals.get(o.order.price, 0) + o.remaining
            assert dict(levels) == totals
        rest = {o.order.order_id: o.remaining or 0 for o in [*snapshot.bids, *snapshot.asks]}
        for order_id, quantity in self.quantity.items():
            accounted = self.filled.get(order_id, 0) + rest.get(order_id, 0)
            accounted += self.closed.get(order_id, 0)
            assert accounted == quantity, order_id

    def teardown(self) -> None:
        if hasattr(self, "redis"):
            self.redis.flushdb()
            self.redis.close()


EngineAgainstReference.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineAgainstReference = EngineAgainstReference.TestCase
