"""Mirroring a leader's fills into followers' copies (docs/copytrading.md "Mirroring").

1. ``intents_record`` runs inside the transaction that settles a batch (a settlement fills
   listener): every fill of an active leader becomes a ``CopyIntent`` row, unique per fill,
   split into ``chunks`` parts of about ``COPY_MIRROR_CHUNK`` followers (part ``n``: the
   active subscriptions whose id modulo ``chunks`` is ``n``). It commits with the fill or not
   at all, so a crash can neither lose an intent nor write it twice, and a redelivered batch
   (already settled) records nothing.
2. After that commit each new intent's parts are dispatched (one Celery task ``mirror_chunk``
   per part, so a worker's threads or several workers mirror them side by side; inline in
   tests). ``intents_replay`` (beat) dispatches the parts of intents a crash left pending.
3. ``chunk_mirror`` mirrors one part in one transaction: it claims the part (a ``CopyChunk``
   row, unique per intent and part: a second worker on it waits, then finds it done), sizes a
   copy for each of its subscriptions (``copytrading.sizing``), places them all through
   ``orders.services.orders_place_many`` (the placement service's terms, holds, outbox, engine
   and settlement, in one statement for the part) as IOC limits marked ``copied_from``,
   records a ``CopyOrder`` per subscription (placed, or skipped with a reason) and counts the
   part done on the intent (the last part marks it done): the part happens entirely once. Its
   copies reach the engine when that transaction commits (the orders' outbox covers a crash in
   between)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from copytrading import sql
from copytrading.metrics import COPIES, MIRROR_SECONDS
from copytrading.models import CopyChunk, CopyIntent, CopyOrder, MarketCopySetting, Subscription
from copytrading.sizing import Market, Skip, copy_plan
from copytrading.valuation import holdings_of, prices_in, value_of
from markets.models import TradingPair
from orders.models import Order
from orders.services import PlaceRequest, orders_place_many
from settlement.publish import SettledFill
from tradehive.errors import DomainError
from tradehive.sql import prepared_cursor
from wallets.errors import InsufficientFunds
from wallets.models import Asset

logger = logging.getLogger(__name__)
_ZERO = Decimal(0)

# A part of an intent: (intent id, part number).
ChunkRef = tuple[int, int]
Dispatcher = Callable[[list[ChunkRef]], object]
# An intent's parts: at most this many, whatever the followers (a part per worker thread).
MAX_CHUNKS = 16


def _mirror_inline(chunks: list[ChunkRef]) -> object:
    return sum(chunk_mirror(intent_id=i, number=n) for i, n in chunks)


# Set to the Celery task's ``delay`` in ``CopytradingConfig.ready``.
_dispatch: Dispatcher = _mirror_inline


def dispatcher_set(dispatch: Dispatcher | None) -> None:
    global _dispatch
    _dispatch = dispatch or _mirror_inline


def intents_record(pair: TradingPair, fills: list[SettledFill]) -> Callable[[], object] | None:
    """Settlement's fills listener (in its transaction): an intent per fill of an active
    leader; returns the dispatch of the new ones' parts, run after commit."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.leaders_among_sql(), [list({f.user_id for f in fills})])
        leaders = {user_id: (leader_id, n) for user_id, leader_id, n in cursor.fetchall()}
    if not leaders:
        return None
    mine = [f for f in fills if f.user_id in leaders and f.pk is not None]
    per_chunk = max(1, int(settings.COPY_MIRROR_CHUNK))
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.intents_insert_sql(),
            [
                [f.pk for f in mine],
                [leaders[f.user_id][0] for f in mine],
                [f.order_id for f in mine],
                [pair.pk for _ in mine],
                [f.side for f in mine],
                [f.price for f in mine],
                [f.quantity for f in mine],
                [_chunks(leaders[f.user_id][1], per_chunk) for f in mine],
            ],
        )
        new = [(intent_id, number) for intent_id, n in cursor.fetchall() for number in range(n)]
    if not new:
        return None
    return lambda: _dispatch(new)


def _chunks(followers: int, per_chunk: int) -> int:
    return min(MAX_CHUNKS, max(1, -(-followers // per_chunk)))


def intents_mirror(*, intent_ids: Sequence[int]) -> int:
    """Mirror every part of each intent not yet done, one after the other (each part its own
    transaction); the number of copies placed."""
    placed = 0
    for intent_id, number in _parts_left(intent_ids):
        try:
            placed += chunk_mirror(intent_id=intent_id, number=number)
        except Exception:  # one bad part must not stop the others; replayed later
            logger.exception("copy intent %s part %s failed", intent_id, number)
    return placed


def intent_mirror(*, intent_id: int) -> int:
    """Mirror one intent's parts not yet done (see ``intents_mirror``)."""
    return intents_mirror(intent_ids=[intent_id])


def _parts_left(intent_ids: Sequence[int]) -> list[ChunkRef]:
    """The parts of the pending intents among ``intent_ids`` not yet done, in order."""
    chunks = dict(
        CopyIntent.objects.filter(pk__in=intent_ids, status=CopyIntent.Status.PENDING)
        .order_by()
        .values_list("id", "chunks")
    )
    done = set(
        CopyChunk.objects.filter(intent_id__in=list(chunks)).values_list("intent_id", "number")
    )
    return [
        (intent_id, number)
        for intent_id in sorted(chunks)
        for number in range(chunks[intent_id])
        if (intent_id, number) not in done
    ]


def intents_replay(*, older_than_s: float = 5.0, limit: int = 200) -> int:
    """Dispatch the parts left of intents still pending after ``older_than_s`` (a crash
    between the settling commit and the dispatch, a worker that died in a part): the number
    of intents dispatched."""
    before = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(
        CopyIntent.objects.filter(status=CopyIntent.Status.PENDING, created_at__lt=before)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    parts = _parts_left(ids)
    if parts:
        _dispatch(parts)
    return len({intent_id for intent_id, _ in parts})


def _market(pair: TradingPair) -> Market:
    setting = MarketCopySetting.objects.filter(pair=pair).values_list("slippage", flat=True)
    slippage = setting.first()
    return Market(
        tick_size=pair.tick_size,
        lot_size=pair.lot_size,
        min_notional=pair.min_notional,
        slippage=Decimal(settings.COPY_SLIPPAGE) if slippage is None else slippage,
    )


def chunk_mirror(*, intent_id: int, number: int) -> int:
    """Mirror part ``number`` of a pending intent to its active subscriptions, once (see the
    module docstring); the number of copies placed (0 if the part was done)."""
    started = time.perf_counter()
    with transaction.atomic():
        intent = (
            CopyIntent.objects.select_related("pair", "pair__base", "pair__quote", "leader")
            .filter(pk=intent_id, status=CopyIntent.Status.PENDING)
            .first()
        )
        if intent is None or not 0 <= number < intent.chunks:
            return 0
        with prepared_cursor() as cursor:
            cursor.execute(sql.chunk_claim_sql(), [intent_id, number])
            if cursor.fetchone() is None:
                return 0  # done by another worker (it committed while this waited)
        active = Subscription.objects.filter(
            leader_id=intent.leader_id, status=Subscription.Status.ACTIVE
        )
        if intent.chunks > 1:
            active = active.alias(part=F("id") % intent.chunks).filter(part=number)
        # Plain rows, not models: a leader may have thousands of followers.
        subscriptions = [
            _Follower(*row)
            for row in active.order_by("id").values_list(
                "id",
                "account_user_id",
                "asset_id",
                "mode",
                "fixed_amount",
                "max_order_quote",
                "markets",
            )
        ]
        copies = _copies(intent, subscriptions)
        with prepared_cursor() as cursor:
            if copies:
                cursor.execute(
                    sql.copies_insert_sql(),
                    [
                        intent.pk,
                        [c.subscription_id for c in copies],
                        [c.status for c in copies],
                        [c.reason for c in copies],
                        [c.detail for c in copies],
                        [c.order_id for c in copies],
                    ],
                )
            cursor.execute(sql.chunk_done_sql(), [timezone.now(), intent.pk])
    for copy in copies:
        COPIES.labels(outcome=copy.reason or "placed").inc()
    MIRROR_SECONDS.observe(time.perf_counter() - started)
    return sum(1 for c in copies if c.status == CopyOrder.Status.PLACED)


class _Follower(NamedTuple):
    id: int
    account_user_id: int
    asset_id: int
    mode: str
    fixed_amount: Decimal | None
    max_order_quote: Decimal | None
    markets: list[str]


@dataclass
class _Copy:
    """A ``CopyOrder`` row to write."""

    subscription_id: int
    status: str = CopyOrder.Status.SKIPPED
    reason: str = ""
    detail: str = ""
    order_id: int | None = None


def _copies(intent: CopyIntent, subscriptions: list[_Follower]) -> list[_Copy]:
    if not subscriptions:
        return []
    pair = intent.pair
    market = _market(pair)
    leader_user_id = intent.leader.user_id
    held = holdings_of([leader_user_id, *(s.account_user_id for s in subscriptions)])
    leader_held = held.get(leader_user_id, {})
    base_after = sum(leader_held.get(pair.base_id, (_ZERO, _ZERO)), _ZERO)
    # The fill is settled: a sell's quantity has left the leader's holding.
    leader_base_before = base_after + (intent.quantity if intent.side == "sell" else _ZERO)
    leader_equity: dict[int, Decimal] = {}  # by allocation asset
    prices_by_asset: dict[int, dict[int, Decimal]] = {}
    copies: list[_Copy] = []
    to_place: list[tuple[_Copy, PlaceRequest]] = []
    for sub in subscriptions:
        prices = prices_by_asset.get(sub.asset_id)
        if prices is None:
            prices = prices_by_asset[sub.asset_id] = prices_in(Asset.objects.get(pk=sub.asset_id))
            if pair.quote_id == sub.asset_id:  # the fill itself prices a market never ticked
                prices.setdefault(pair.base_id, intent.price)
        copy = _Copy(subscription_id=sub.id)
        copies.append(copy)
        if pair.quote_id != sub.asset_id or (sub.markets and pair.symbol not in sub.markets):
            copy.reason = Skip.MARKET_NOT_COPIED
            copy.detail = f"{pair.symbol} is not among the markets this copy follows."
            continue
        equity = leader_equity.get(sub.asset_id)
        if equity is None:
            equity = leader_equity[sub.asset_id] = value_of(leader_held, prices)
        mine = held.get(sub.account_user_id, {})
        plan = copy_plan(
            side=intent.side,
            price=intent.price,
            quantity=intent.quantity,
            market=market,
            mode=sub.mode,
            fixed_amount=sub.fixed_amount,
            max_order_quote=sub.max_order_quote,
            leader_equity=equity,
            leader_base_before=leader_base_before,
            allocation_value=value_of(mine, prices),
            allocation_base=mine.get(pair.base_id, (_ZERO, _ZERO))[0],
        )
        if plan.skip:
            copy.reason, copy.detail = plan.skip, plan.detail
            continue
        request = PlaceRequest(
            user_id=sub.account_user_id,
            side=intent.side,
            type="limit",
            quantity=plan.quantity,
            price=plan.price,
            time_in_force="IOC",
            copied_from_id=intent.leader_order_id,
        )
        to_place.append((copy, request))
    if to_place:
        placed = orders_place_many(symbol=pair.symbol, requests=[r for _, r in to_place])
        for (copy, _), outcome in zip(to_place, placed, strict=True):
            _record(copy, outcome)
    return copies


def _record(copy: _Copy, outcome: Order | DomainError) -> None:
    if isinstance(outcome, InsufficientFunds):
        copy.reason = Skip.BEYOND_ALLOCATION
        copy.detail = "The allocation's available funds cannot pay for this copy."
    elif isinstance(outcome, DomainError):
        copy.reason, copy.detail = outcome.code, outcome.message[:200]
    else:
        copy.status, copy.order_id = CopyOrder.Status.PLACED, outcome.pk
