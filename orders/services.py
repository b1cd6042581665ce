"""Order placement: validate, hold, insert with an outbox row, submit after commit.

The order lifecycle (DESIGN.md): ``order_place`` validates against the pair (``orders.terms``),
holds the funds the order can consume and inserts the order with an outbox row in one
statement (``orders.sql``); after commit the order is submitted to the engine
(``orders.relay``). Settlement (``settlement.services``) applies the engine's events
and deletes the outbox row when the engine acknowledged the order; ``outbox_relay`` re-submits
rows left behind by a crash. Submission is idempotent (the engine ignores ids it has seen)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial, wraps
from typing import ParamSpec

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from markets.models import TradingPair
from markets.pair_cache import pair_for_order, pair_guard_params
from markets.services import pair_assert_accepts_orders
from orders.errors import DuplicateClientOrderId
from orders.metrics import ORDERS_PLACED, ORDERS_REFUSED
from orders.models import Order, OrderStatus
from orders.relay import order_submit, orders_submit_many
from orders.sql import order_write_statement, orders_write_many_statement
from orders.terms import (
    OrderShape,
    OrderTerms,
    order_shape_check,
    order_size_check,
    order_terms_check,
)
from tradehive.errors import Conflict, DomainError
from tradehive.sql import prepared_cursor
from wallets.errors import InsufficientFunds
from wallets.ledger import BucketMove, bucket_move_params
from wallets.models import Bucket, JournalTransaction

logger = logging.getLogger(__name__)
P = ParamSpec("P")


def _same_request(order: Order, pair: TradingPair, terms: OrderTerms) -> bool:
    return (
        order.pair_id == pair.pk
        and order.side == terms.side
        and order.type == terms.type
        and order.time_in_force == terms.time_in_force
        and order.post_only == terms.post_only
        and order.price == terms.price
        and order.stop_price == terms.stop_price
        and order.quantity == terms.quantity
        and order.quote_amount == terms.quote_amount
    )


def _counted(place: Callable[P, Order]) -> Callable[P, Order]:
    """Count placements by type and refusals by error code (``orders.metrics``)."""

    @wraps(place)
    def counted(*args: P.args, **kwargs: P.kwargs) -> Order:
        try:
            order = place(*args, **kwargs)
        except DomainError as exc:
            ORDERS_REFUSED.labels(reason=exc.code).inc()
            raise
        ORDERS_PLACED.labels(type=order.type).inc()
        return order

    return counted


@_counted
def order_place(
    *,
    user: User,
    symbol: str,
    side: str,
    type: str,
    quantity: Decimal | None = None,
    quote_amount: Decimal | None = None,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
    time_in_force: str | None = None,
    post_only: bool = False,
    client_order_id: str | None = None,
    stp_mode: str | None = None,
    copied_from_id: int | None = None,
) -> Order:
    """Place an order: validate, hold its funds, insert it with an outbox row, submit after commit.

    The request is checked against the market's terms as ``pair_for_order`` keeps them in
    process; then one statement (``_order_write``) re-checks the market under a share lock,
    moves the hold and inserts the order, its outbox row and the hold's journal, all or nothing.
    If the market changed meanwhile (halted, new terms) nothing is written and placement starts
    over from a fresh read, so a halted market refuses the order (``MarketHalted``, 423); a
    request refused on cached terms is decided again on a fresh read before the error goes
    out. On PostgreSQL a placed order is that one statement once its market is cached (+1
    query with a ``client_order_id``, +1 for the market's first order in the process).

    ``copied_from_id`` marks a copy-trading mirror of that (leader's) order.

    Idempotent by ``client_order_id``: the same id with the same parameters returns the existing
    order; with other parameters ``DuplicateClientOrderId`` (409). Raises ``UnknownMarket``,
    ``MarketHalted`` (423), ``InvalidInput`` and friends, ``InsufficientFunds``. The returned
    order is ``pending`` (or ``untriggered``) with its pair and assets loaded: settlement moves
    it on as the engine reports."""
    fresh = False
    for _ in range(_PLACE_ATTEMPTS):
        pair = pair_for_order(symbol=symbol, fresh=fresh)
        try:
            pair_assert_accepts_orders(pair=pair)
            terms = order_terms_check(
                pair=pair,
                side=side,
                type=type,
                quantity=quantity,
                quote_amount=quote_amount,
                price=price,
                stop_price=stop_price,
                time_in_force=time_in_force,
                post_only=post_only,
                stp_mode=stp_mode,
            )
            if client_order_id is not None:
                existing = _order_by_client_id(user=user, client_order_id=client_order_id)
                if existing is not None:
                    return _same_or_conflict(existing, pair, terms)
        except DomainError:
            if fresh:
                raise
            fresh = True  # refused on cached terms: decide on the market as it is now
            continue
        try:
            order = _order_write(
                user=user,
                pair=pair,
                terms=terms,
                client_order_id=client_order_id,
                copied_from_id=copied_from_id,
            )
        except IntegrityError:
            if client_order_id is None:
                raise
            # A concurrent request with the same client_order_id won the insert.
            existing = _order_by_client_id(user=user, client_order_id=client_order_id)
            if existing is None:
                raise
            return _same_or_conflict(existing, pair, terms)
        if order is not None:
            transaction.on_commit(
                partial(
                    order_submit, order_id=order.pk, order=order, engine_price=terms.engine_price
                )
            )
            return order
        fresh = True  # the market changed since it was read: read it again
    raise Conflict("The market changed while the order was placed; try again.")


# Each attempt after the first follows a change of the market between its read and the write.
_PLACE_ATTEMPTS = 3


def _order_by_client_id(*, user: User, client_order_id: str) -> Order | None:
    return (
        Order.objects.select_related("pair", "pair__base", "pair__quote")
        .filter(user=user, client_order_id=client_order_id)
        .first()
    )


def _same_or_conflict(existing: Order, pair: TradingPair, terms: OrderTerms) -> Order:
    if _same_request(existing, pair, terms):
        return existing
    raise DuplicateClientOrderId(fields={"client_order_id": ["Already used."]})


def _order_new(
    *,
    user_id: int,
    pair: TradingPair,
    terms: OrderTerms,
    client_order_id: str | None = None,
    copied_from_id: int | None = None,
    now: datetime,
) -> Order:
    """The unsaved ``pending`` order of checked ``terms``, holding what they must hold."""
    return Order(
        user_id=user_id,
        pair=pair,
        client_order_id=client_order_id,
        side=terms.side,
        type=terms.type,
        time_in_force=terms.time_in_force,
        post_only=terms.post_only,
        price=terms.price,
        stop_price=terms.stop_price,
        quantity=terms.quantity,
        quote_amount=terms.quote_amount,
        held=terms.hold_amount,
        hold_remaining=terms.hold_amount,
        stp_mode=terms.stp_mode,
        copied_from_id=copied_from_id,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


def _order_write(
    *,
    user: User,
    pair: TradingPair,
    terms: OrderTerms,
    client_order_id: str | None,
    copied_from_id: int | None = None,
) -> Order | None:
    """Write a checked order: its hold, the order and its outbox row, all or nothing. Returns
    the order (``pair`` and its assets attached), or None when ``pair`` no longer holds (the
    market was halted or its terms changed: nothing was written). ``InsufficientFunds`` when
    the hold cannot be taken.

    On PostgreSQL one statement, in its own transaction or, inside the caller's, a savepoint
    (so a failed insert leaves the caller's transaction usable):
    - ``pair_guard`` (``markets.pair_cache``) re-reads the market, share-locked;
    - ``moved``/``move_journal``/``move_entries`` are the ledger's one-balance move
      (``wallets.services.bucket_move_sql``, the SQL ``ledger_post`` runs for a hold): the
      Balance row's locked UPDATE with the funds check, then the hold's journal and entries;
    - the order and its outbox row are inserted from the moved row, so without the hold there
      is no order, and the journal's reference (``order:<id>``) comes from the inserted order."""
    order = _order_new(
        user_id=user.pk,
        pair=pair,
        terms=terms,
        client_order_id=client_order_id,
        copied_from_id=copied_from_id,
        now=timezone.now(),
    )
    order.user = user  # the caller's instance, as before (no query to fetch it again)
    hold = BucketMove(
        asset_id=terms.hold_asset.pk,
        amount=terms.hold_amount,
        from_bucket=Bucket.AVAILABLE,
        kind=JournalTransaction.Kind.HOLD,
    )
    sql, fields = order_write_statement()
    now = order.created_at
    params = {f"order_{field.attname}": getattr(order, field.attname) for field in fields}
    params.update(
        pair_guard_params(pair), **bucket_move_params(hold, now=now), user=user.pk, outbox_now=now
    )
    with (
        transaction.atomic() if connection.in_atomic_block else nullcontext(),
        prepared_cursor() as cursor,
    ):
        cursor.execute(sql, params)
        order_id, guard_passed = cursor.fetchone()
    if order_id is None:
        if not guard_passed:
            return None
        raise InsufficientFunds(f"Insufficient available funds for an order of {pair.symbol}.")
    order.pk = order_id
    order._state.adding = False
    order._state.db = connection.alias
    return order


@dataclass(frozen=True)
class PlaceRequest:
    """One order of ``orders_place_many``: what ``order_place`` takes, for one market (the
    user by id: a fan-out need not load a thousand users)."""

    user_id: int
    side: str
    type: str
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str | None = None
    post_only: bool = False
    stp_mode: str | None = None
    copied_from_id: int | None = None


def orders_place_many(
    *, symbol: str, requests: Sequence[PlaceRequest]
) -> list[Order | DomainError]:
    """Place many orders of one market, each of a different user, as ``order_place`` places
    one: the same terms check per order, then ONE statement (``orders.sql``) that re-checks the
    market under a share lock, takes each order's hold through the ledger (only if the user's
    available balance covers it), and inserts the orders, their outbox rows and the holds'
    journals; after commit, the placed orders go to the engine in pipelined batches
    (``orders.relay.orders_submit_many``). For a fan-out such as copy trading's, where one
    statement per order would cost a round trip and a savepoint each.

    Returns, per request and in order, the placed order (``pending``, pair attached) or the
    ``DomainError`` that refused it (terms, ``MarketHalted``, ``InsufficientFunds``); a refused
    request writes nothing. No ``client_order_id`` (no idempotency key): the caller records what
    it placed in the same transaction (copy trading's ``CopyOrder`` rows)."""
    if len({r.user_id for r in requests}) != len(requests):
        raise ValueError("orders_place_many places one order per user")
    results: list[Order | DomainError] = []
    fresh = False
    for _ in range(_PLACE_ATTEMPTS):
        pair = pair_for_order(symbol=symbol, fresh=fresh)
        results, checked = _terms_many(pair, requests)
        if not fresh and len(checked) < len(requests):
            fresh = True  # refused on cached terms: decide on the market as it is now
            continue
        if not checked:
            return results
        placed = _orders_write_many(pair, checked)
        if placed is None:  # the market changed since it was read
            fresh = True
            continue
        submit: list[tuple[Order, Decimal | None]] = []
        for index, order, terms in checked:
            if order.user_id in placed:
                order.pk = placed[order.user_id]
                order._state.adding = False
                order._state.db = connection.alias
                results[index] = order
                submit.append((order, terms.engine_price))
                ORDERS_PLACED.labels(type=order.type).inc()
            else:
                results[index] = InsufficientFunds(
                    f"Insufficient available funds for an order of {pair.symbol}."
                )
        if submit:
            transaction.on_commit(partial(orders_submit_many, orders=submit))
        for result in results:
            if isinstance(result, DomainError):
                ORDERS_REFUSED.labels(reason=result.code).inc()
        return results
    raise Conflict("The market changed while the orders were placed; try again.")


def _terms_many(
    pair: TradingPair, requests: Sequence[PlaceRequest]
) -> tuple[list[Order | DomainError], list[tuple[int, Order, OrderTerms]]]:
    results: list[Order | DomainError] = []
    checked: list[tuple[int, Order, OrderTerms]] = []
    try:
        pair_assert_accepts_orders(pair=pair)
    except DomainError as exc:
        return [exc] * len(requests), []
    now = timezone.now()
    # A fan-out's orders share their shape (side, type, price...): checked once per shape,
    # then each order's size (order_terms_check's two halves, so the outcome is the same).
    shapes: dict[tuple[object, ...], OrderShape | DomainError] = {}
    for index, request in enumerate(requests):
        key = (
            request.side,
            request.type,
            None if request.price is None else str(request.price),  # 1E+3 is not 1000 written
            request.time_in_force,
            request.post_only,
            request.stp_mode,
            request.quantity is not None,
            request.quote_amount is not None,
        )
        shape = shapes.get(key)
        if shape is None:
            try:
                shape = order_shape_check(
                    pair=pair,
                    side=request.side,
                    type=request.type,
                    sized_by_quantity=request.quantity is not None,
                    sized_by_quote=request.quote_amount is not None,
                    price=request.price,
                    stop_price=None,
                    time_in_force=request.time_in_force,
                    post_only=request.post_only,
                    stp_mode=request.stp_mode,
                )
            except DomainError as exc:
                shape = exc
            shapes[key] = shape
        if isinstance(shape, DomainError):
            results.append(shape)
            continue
        try:
            terms = order_size_check(
                pair=pair, shape=shape, quantity=request.quantity, quote_amount=request.quote_amount
            )
        except DomainError as exc:
            results.append(exc)
            continue
        order = _order_new(
            user_id=request.user_id,
            pair=pair,
            terms=terms,
            copied_from_id=request.copied_from_id,
            now=now,
        )
        results.append(order)
        checked.append((index, order, terms))
    return results, checked


def _orders_write_many(
    pair: TradingPair, checked: list[tuple[int, Order, OrderTerms]]
) -> dict[int, int] | None:
    """Run the statement; user id -> order id of the placed ones, or None if the market no
    longer holds (nothing written). In the caller's transaction, a savepoint."""
    fields = tuple(field for field in Order._meta.concrete_fields if not field.primary_key)
    columns = {
        field.attname: [getattr(order, field.attname) for _, order, _ in checked]
        for field in fields
    }
    # A column with one value in every row (the market, the side, the status...) is bound once.
    same = frozenset(
        name for name, values in columns.items() if name != "user_id" and len(set(values)) == 1
    )
    sql = orders_write_many_statement(same)
    params: dict[str, object] = {
        f"order_{name}": values[0] if name in same else values for name, values in columns.items()
    }
    params.update(
        pair_guard_params(pair),
        hold_assets=[terms.hold_asset.pk for _, _, terms in checked],
        hold_amounts=[terms.hold_amount for _, _, terms in checked],
        now=timezone.now(),
    )
    with (
        transaction.atomic() if connection.in_atomic_block else nullcontext(),
        prepared_cursor() as cursor,
    ):
        cursor.execute(sql, params)
        held, user_ids, order_ids = cursor.fetchone()
    if not held:
        return None
    return dict(zip(user_ids or [], order_ids or [], strict=True))
