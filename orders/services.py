"""Order writes: placement (validate, hold, insert, outbox), submission to the engine, cancels.

The order lifecycle (DESIGN.md): ``order_place`` validates against the pair, holds the funds the
order can consume and inserts the order with an outbox row in one transaction; after commit the
order is submitted to the engine. Settlement (``matching.settlement``) applies the engine's events
and deletes the outbox row when the engine acknowledged the order; ``outbox_relay`` re-submits
rows left behind by a crash. Submission is idempotent (the engine ignores ids it has seen)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache, partial

import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Field, QuerySet, When
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from markets.models import TradingPair
from markets.pair_cache import PAIR_GUARD_SQL, pair_for_order, pair_guard_params
from markets.selectors import pair_get
from markets.services import pair_assert_accepts_orders
from matching.engine import EngineOrder, EngineStateMissing, InvalidEngineOrder, StpMode
from matching.engine import OrderType as EngineType
from matching.engine import Side as EngineSide
from matching.engine import TimeInForce as EngineTif
from matching.runtime import get_engine
from matching.units import (
    MAX_ENGINE_INT,
    OffGrid,
    OutOfEngineRange,
    price_to_ticks,
    quantity_to_lots,
    quote_to_units_ceil,
)
from orders.errors import (
    BelowMinNotional,
    DuplicateClientOrderId,
    EngineUnavailable,
    InsufficientLiquidity,
    OrderNotFound,
    OrderNotOpen,
    StopWouldTrigger,
)
from orders.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    CancelReason,
    Order,
    OrderOutbox,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from orders.selectors import last_trade_price
from tradehive.errors import Conflict, DomainError, InvalidInput
from tradehive.money import decimal_places
from tradehive.prepared_sql import prepared_cursor
from wallets.errors import InsufficientFunds
from wallets.ledger import BucketMove, Posting, bucket_move_params, ledger_post
from wallets.models import Asset, Bucket, JournalTransaction
from wallets.services import wallet_account_id_get
from wallets.sql import bucket_move_sql

logger = logging.getLogger(__name__)

STP_MODES = tuple(mode.value for mode in StpMode)
# Choices as frozensets once: ``TextChoices.values`` builds a new list on every access.
_SIDES = frozenset(Side.values)
_TYPES = frozenset(OrderType.values)
_TIFS = frozenset(TimeInForce.values)


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """A validated order request, and what it must hold."""

    side: str
    type: str
    time_in_force: str
    post_only: bool
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal | None
    quote_amount: Decimal | None
    stp_mode: str
    hold_asset: Asset
    hold_amount: Decimal
    # The limit the engine enforces for a market/stop-market buy by quantity (see
    # ``protective_price``); None when the engine needs no price.
    engine_price: Decimal | None


def _invalid(field: str, message: str, *, code: str | None = None,
             error: type[InvalidInput] = InvalidInput) -> InvalidInput:
    return error(message, code=code, fields={field: [message]})


def _ceil_to(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING)


def _on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def protective_price(*, pair: TradingPair, reference: Decimal) -> Decimal:
    """``reference`` raised by ``ORDER_MARKET_PROTECTION`` (default 5%), rounded up to the tick.

    A market buy by quantity must hold funds before it knows its fill prices; it goes to the
    engine as an IOC limit at this price, so it can never spend more than it holds (the
    "market protection" of the big exchanges). What it cannot fill within the band is cancelled
    with ``insufficient_liquidity``."""
    band = Decimal(str(settings.ORDER_MARKET_PROTECTION))
    raised = reference * (1 + band)
    ticks = (raised / pair.tick_size).to_integral_value(rounding=ROUND_CEILING)
    return ticks * pair.tick_size


def _fee_rate(pair: TradingPair) -> Decimal:
    # Hold for the dearer of the two fees: a resting order can end up either maker or taker.
    return max(pair.maker_fee, pair.taker_fee)


def _book_ask_walk(*, pair: TradingPair, quantity: Decimal) -> Decimal | None:
    """The worst ask price a buy of ``quantity`` reaches in the book now (None: empty book)."""
    lots_needed = int(quantity / pair.lot_size)
    depth = get_engine().depth(pair.symbol, 1000)
    worst = None
    for price_ticks, lots in depth.asks:
        worst = price_ticks
        lots_needed -= lots
        if lots_needed <= 0:
            break
    return None if worst is None else worst * pair.tick_size


def order_terms_check(*, pair: TradingPair, side: str, type: str, quantity: Decimal | None,
                      quote_amount: Decimal | None, price: Decimal | None,
                      stop_price: Decimal | None, time_in_force: str | None, post_only: bool,
                      stp_mode: str | None) -> OrderTerms:
    """Validate an order request against ``pair``; raise ``InvalidInput`` (with the field) or a
    more specific error. Returns the terms and the funds to hold. Ends with the engine's own
    range check (``order_engine_check``), so an order that passes can always be submitted."""
    if side not in _SIDES:
        raise _invalid("side", "Must be buy or sell.")
    if type not in _TYPES:
        raise _invalid("type", "Must be limit, market, stop_limit or stop_market.")
    tif = time_in_force or TimeInForce.GTC
    if tif not in _TIFS:
        raise _invalid("time_in_force", "Must be GTC, IOC or FOK.")
    stp = stp_mode or StpMode.EXPIRE_TAKER.value
    if stp not in STP_MODES:
        raise _invalid("self_trade_prevention", f"Must be one of {', '.join(STP_MODES)}.")
    priced = type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    stop = type in (OrderType.STOP_LIMIT, OrderType.STOP_MARKET)

    if priced and price is None:
        raise _invalid("price", "Required for limit and stop-limit orders.")
    if not priced and price is not None:
        raise _invalid("price", "Market orders take no price.")
    if stop and stop_price is None:
        raise _invalid("stop_price", "Required for stop orders.")
    if not stop and stop_price is not None:
        raise _invalid("stop_price", "Only stop orders take a stop price.")
    if post_only and (type != OrderType.LIMIT or tif != TimeInForce.GTC):
        raise _invalid("post_only", "Only GTC limit orders can be post-only.")
    if not priced and time_in_force not in (None, TimeInForce.IOC, TimeInForce.GTC):
        raise _invalid("time_in_force", "Market orders are immediate-or-cancel by nature.")
    if quantity is not None and quote_amount is not None:
        raise _invalid("quote_amount", "Give either quantity or quote_amount, not both.")
    if quote_amount is not None and (priced or side != Side.BUY):
        raise _invalid("quote_amount", "Only market and stop-market buys spend a quote amount.")
    if quantity is None and quote_amount is None:
        raise _invalid("quantity", "Required.")

    quote_places = pair.quote.decimals
    for field, value, step in (("price", price, pair.tick_size),
                               ("stop_price", stop_price, pair.tick_size),
                               ("quantity", quantity, pair.lot_size)):
        if value is not None and not _on_grid(value, step):
            raise _invalid(field, f"Must be a multiple of {step.normalize():f}.",
                           code="invalid_precision")
        _steps(quantity_to_lots if field == "quantity" else price_to_ticks, value, step, field)
    if quote_amount is not None and decimal_places(quote_amount) > quote_places:
        raise _invalid("quote_amount", f"At most {quote_places} decimal places.",
                       code="invalid_precision")

    # --- feeds: a feed-priced market prices market orders at its latest fresh observation
    # (StalePrice when there is none within FEED_STALE_AFTER_S; docs/feeds.md) ---
    feed_price: Decimal | None = None
    if pair.is_feed_priced and type == OrderType.MARKET:
        from feeds.selectors import feed_price_fresh

        feed_price = feed_price_fresh(pair=pair)
    # --- end feeds ---

    # The last price matters to stops (already crossed?) and to valuing a market sell without
    # bids; limit orders, most of the flow, never read it.
    if stop:
        assert stop_price is not None
        last = last_trade_price(pair=pair)
        if last is not None and (stop_price <= last if side == Side.BUY else stop_price >= last):
            raise _invalid("stop_price", f"The last price {last.normalize():f} already crossed "
                           "it: use a limit or market order.", error=StopWouldTrigger)

    engine_price: Decimal | None = None
    rate = _fee_rate(pair)
    # The value the order is worth, for the minimum-notional check and the hold.
    if priced:
        assert price is not None
        assert quantity is not None
        notional = price * quantity
    elif quote_amount is not None:
        notional = quote_amount
    else:
        assert quantity is not None
        reference = stop_price if stop else feed_price  # feeds: None for book markets
        if reference is None and side == Side.BUY:
            reference = _book_ask_walk(pair=pair, quantity=quantity)
            if reference is None:
                raise _invalid("quantity", "There are no sell orders to buy from.",
                               error=InsufficientLiquidity)
        if reference is None:  # a market sell: value it at the best bid or the last price
            best_bid = get_engine().best_bid_ask(pair.symbol)[0]
            reference = (best_bid * pair.tick_size if best_bid is not None
                         else last_trade_price(pair=pair))
            if reference is None:
                raise _invalid("quantity", "There are no buy orders to sell to.",
                               error=InsufficientLiquidity)
        if side == Side.BUY:
            engine_price = protective_price(pair=pair, reference=reference)
            notional = engine_price * quantity
        else:
            notional = reference * quantity
    if notional < pair.min_notional:
        raise _invalid("quantity" if quote_amount is None else "quote_amount",
                       f"The order's value must be at least {pair.min_notional.normalize():f} "
                       f"{pair.quote.symbol}.", error=BelowMinNotional)

    if side == Side.SELL:
        assert quantity is not None
        hold_asset, hold_amount = pair.base, quantity
    else:
        hold_asset = pair.quote
        hold_amount = _ceil_to(notional * (1 + rate), quote_places)
    terms = OrderTerms(side=side, type=type, time_in_force=tif if priced else TimeInForce.IOC,
                       post_only=post_only, price=price, stop_price=stop_price,
                       quantity=quantity, quote_amount=quote_amount, stp_mode=stp,
                       hold_asset=hold_asset, hold_amount=hold_amount, engine_price=engine_price)
    order_engine_check(pair=pair, terms=terms, notional=notional)
    return terms


def _same_request(order: Order, pair: TradingPair, terms: OrderTerms) -> bool:
    return (order.pair_id == pair.pk and order.side == terms.side and order.type == terms.type
            and order.time_in_force == terms.time_in_force and order.post_only == terms.post_only
            and order.price == terms.price and order.stop_price == terms.stop_price
            and order.quantity == terms.quantity and order.quote_amount == terms.quote_amount)


def order_place(*, user: User, symbol: str, side: str, type: str,
                quantity: Decimal | None = None, quote_amount: Decimal | None = None,
                price: Decimal | None = None, stop_price: Decimal | None = None,
                time_in_force: str | None = None, post_only: bool = False,
                client_order_id: str | None = None, stp_mode: str | None = None) -> Order:
    """Place an order: validate, hold its funds, insert it with an outbox row, submit after commit.

    The request is checked against the market's terms as ``pair_for_order`` keeps them in
    process; then one statement (``_order_write``) re-checks the market under a share lock,
    moves the hold and inserts the order, its outbox row and the hold's journal, all or nothing.
    If the market changed meanwhile (halted, new terms) nothing is written and placement starts
    over from a fresh read, so a halted market refuses the order (``MarketHalted``, 423); a
    request refused on cached terms is decided again on a fresh read before the error goes
    out. On PostgreSQL a placed order is that one statement once its market is cached (+1
    query with a ``client_order_id``, +1 for the market's first order in the process).

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
                pair=pair, side=side, type=type, quantity=quantity, quote_amount=quote_amount,
                price=price, stop_price=stop_price, time_in_force=time_in_force,
                post_only=post_only, stp_mode=stp_mode)
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
            order = _order_write(user=user, pair=pair, terms=terms,
                                 client_order_id=client_order_id)
        except IntegrityError:
            if client_order_id is None:
                raise
            # A concurrent request with the same client_order_id won the insert.
            existing = _order_by_client_id(user=user, client_order_id=client_order_id)
            if existing is None:
                raise
            return _same_or_conflict(existing, pair, terms)
        if order is not None:
            transaction.on_commit(partial(order_submit, order_id=order.pk, order=order,
                                          engine_price=terms.engine_price))
            return order
        fresh = True  # the market changed since it was read: read it again
    raise Conflict("The market changed while the order was placed; try again.")


# Each attempt after the first follows a change of the market between its read and the write.
_PLACE_ATTEMPTS = 3


def _order_by_client_id(*, user: User, client_order_id: str) -> Order | None:
    return (Order.objects.select_related("pair", "pair__base", "pair__quote")
            .filter(user=user, client_order_id=client_order_id).first())


def _same_or_conflict(existing: Order, pair: TradingPair, terms: OrderTerms) -> Order:
    if _same_request(existing, pair, terms):
        return existing
    raise DuplicateClientOrderId(fields={"client_order_id": ["Already used."]})


def _order_write(*, user: User, pair: TradingPair, terms: OrderTerms,
                 client_order_id: str | None) -> Order | None:
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
    order = Order(
        user=user, pair=pair, client_order_id=client_order_id, side=terms.side, type=terms.type,
        time_in_force=terms.time_in_force, post_only=terms.post_only, price=terms.price,
        stop_price=terms.stop_price, quantity=terms.quantity, quote_amount=terms.quote_amount,
        held=terms.hold_amount, hold_remaining=terms.hold_amount, stp_mode=terms.stp_mode,
        status=OrderStatus.PENDING,
    )
    hold = BucketMove(asset_id=terms.hold_asset.pk, amount=terms.hold_amount,
                      from_bucket=Bucket.AVAILABLE, kind=JournalTransaction.Kind.HOLD)
    sql, fields = _order_write_statement()
    now = timezone.now()
    order.created_at = order.updated_at = now
    params = {f"order_{field.attname}": getattr(order, field.attname) for field in fields}
    params.update(pair_guard_params(pair), **bucket_move_params(hold, now=now),
                  user=user.pk, outbox_now=now)
    with (transaction.atomic() if connection.in_atomic_block else nullcontext(),
          prepared_cursor() as cursor):
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


@cache
def _order_write_statement() -> tuple[str, tuple[Field, ...]]:  # type: ignore[type-arg]
    """The statement of ``_order_write``, built once per process. The order's columns are every
    concrete column of ``Order`` (a new column needs no change here), each value cast to its
    column's type (the statement is prepared: parameter types must not depend on NULLs)."""
    fields = tuple(field for field in Order._meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(f"CAST(%(order_{field.attname})s AS {field.db_type(connection)})"
                       for field in fields)
    moved, journal = bucket_move_sql(
        account="(SELECT id FROM wallets_account WHERE user_id = %(user)s)",
        condition="EXISTS (SELECT 1 FROM pair_guard)",
        reference="'order:' || (SELECT id FROM placed)")
    order_table, outbox_table = quote(Order._meta.db_table), quote(OrderOutbox._meta.db_table)
    # Table and column names come from the models, the rest is constant: nothing from input.
    sql = (
        f"WITH {PAIR_GUARD_SQL}, {moved},"  # noqa: S608
        f" placed AS (INSERT INTO {order_table} ({columns}) SELECT {values} FROM moved"
        " RETURNING id),"
        f" outbox AS (INSERT INTO {outbox_table} (order_id, created_at, attempts)"
        " SELECT id, %(outbox_now)s, 0 FROM placed),"
        f" {journal}"
        " SELECT (SELECT id FROM placed), EXISTS (SELECT 1 FROM pair_guard)")
    return sql, fields


def engine_order_for(order: Order, *, engine_price: Decimal | None = None) -> EngineOrder:
    """The engine's integer view of ``order``. Raises ``OffGrid``/``OutOfEngineRange`` for a
    value the engine cannot hold; ``EngineOrder.check`` the rest.

    Market and stop-market buys by quantity go to the engine as (stop-)limit IOC orders at their
    protective price (recomputed from the stop price when not given)."""
    pair = order.pair
    if (engine_price is None and order.side == Side.BUY and order.quote_amount is None
            and order.type in (OrderType.MARKET, OrderType.STOP_MARKET)):
        # Recompute from what the order holds: hold = price x quantity x (1 + fee) rounded up.
        per_unit = order.held / (order.quantity * (1 + _fee_rate(pair)))
        ticks = (per_unit / pair.tick_size).to_integral_value(rounding=ROUND_FLOOR)
        engine_price = ticks * pair.tick_size
    return _engine_order(pair=pair, order_id=str(order.pk), owner=order.user_id,
                         side=order.side, type=order.type, time_in_force=order.time_in_force,
                         post_only=order.post_only, price=order.price,
                         stop_price=order.stop_price, quantity=order.quantity,
                         quote_amount=order.quote_amount, stp_mode=order.stp_mode,
                         engine_price=engine_price)


def _engine_order(*, pair: TradingPair, order_id: str, owner: int, side: str, type: str,
                  time_in_force: str, post_only: bool, price: Decimal | None,
                  stop_price: Decimal | None, quantity: Decimal | None,
                  quote_amount: Decimal | None, stp_mode: str,
                  engine_price: Decimal | None) -> EngineOrder:
    tick, lot = pair.tick_size, pair.lot_size
    lots = _steps(quantity_to_lots, quantity, lot, "quantity")
    stop = _steps(price_to_ticks, stop_price, tick, "stop_price")
    quote_units = None
    if quote_amount is not None:
        units = (quote_amount / (tick * lot)).to_integral_value(rounding=ROUND_FLOOR)
        quote_units = int(units)
    engine_type = EngineType(type)
    ticks = _steps(price_to_ticks, price, tick, "price")
    tif = EngineTif(time_in_force)
    if side == Side.BUY and quote_amount is None and type in (OrderType.MARKET,
                                                              OrderType.STOP_MARKET):
        assert engine_price is not None
        # The protective price follows from the stop price, or the book and the quantity.
        ticks = _steps(price_to_ticks, engine_price, tick,
                       "stop_price" if stop_price is not None else "quantity")
        engine_type = EngineType.LIMIT if type == OrderType.MARKET else EngineType.STOP_LIMIT
        tif = EngineTif.IOC
    return EngineOrder(order_id=order_id, owner=owner, side=EngineSide(side),
                       order_type=engine_type, quantity=lots, price=ticks,
                       quote_amount=quote_units, stop_price=stop, time_in_force=tif,
                       post_only=post_only, stp=StpMode(stp_mode))


def _steps(convert: Callable[[Decimal, Decimal], int], value: Decimal | None, step: Decimal,
           field: str) -> int | None:
    """``convert(value, step)`` with an ``OffGrid``/``OutOfEngineRange`` naming ``field``."""
    if value is None:
        return None
    try:
        return convert(value, step)
    except OffGrid as exc:
        raise _invalid(field, exc.message, error=type(exc)) from None


# EngineOrder's field names that are also the API's (the rest are about the order's shape).
_API_FIELDS = frozenset({"price", "stop_price", "quantity", "quote_amount"})


def order_engine_check(*, pair: TradingPair, terms: OrderTerms, notional: Decimal) -> None:
    """The engine boundary's check, run by placement before anything is written: the integers
    ``order_submit`` will send (``engine_order_for``'s conversions, then ``EngineOrder.check``:
    each value and lots x ticks within 1..2**53-1), and the order's value in quote units (what
    a market order by quantity may cost). Raises ``OutOfEngineRange`` (400 ``out_of_range``)
    naming the field."""
    field = "quote_amount" if terms.quote_amount is not None else "quantity"
    engine_order = _engine_order(
        pair=pair, order_id="0", owner=0, side=terms.side, type=terms.type,
        time_in_force=terms.time_in_force, post_only=terms.post_only, price=terms.price,
        stop_price=terms.stop_price, quantity=terms.quantity, quote_amount=terms.quote_amount,
        stp_mode=terms.stp_mode, engine_price=terms.engine_price)
    try:
        engine_order.check()
    except InvalidEngineOrder as exc:
        name = exc.field if exc.field in _API_FIELDS else field
        raise _invalid(name, f"Outside what the matching engine can hold: {exc}.",
                       error=OutOfEngineRange) from None
    if quote_to_units_ceil(notional, pair.tick_size, pair.lot_size) > MAX_ENGINE_INT:
        raise _invalid(field, "The order's value is more than the matching engine can hold.",
                       error=OutOfEngineRange)


def order_submit(*, order_id: int, order: Order | None = None,
                 engine_price: Decimal | None = None) -> bool:
    """Hand an order to the engine (after its transaction committed). Idempotent.

    Returns False when the engine could not be reached (the outbox relay retries). A market whose
    engine state is missing is recovered from PostgreSQL first. An order the engine can never
    take is quarantined (``order_quarantine``: rejected, its hold released) and True returned:
    at once when its values do not convert (off the market's grid or the engine's range), after
    ``SUBMIT_REFUSALS_MAX`` attempts when the engine's scripts refuse it."""
    from matching.recovery import engine_recover

    if order is None:  # the relay; right after placement the caller passes the fresh order
        order = Order.objects.select_related("pair", "pair__base", "pair__quote").get(pk=order_id)
    if order.status != OrderStatus.PENDING:
        return True
    try:
        engine_order = engine_order_for(order, engine_price=engine_price)
        engine_order.check()
    except (OffGrid, InvalidEngineOrder) as exc:
        order_quarantine(order_id=order_id, reason=order_quarantine_reason(exc), detail=str(exc))
        return True
    engine = get_engine()
    submit = engine.submit
    # --- feeds: market orders of feed-priced markets fill against the house at the latest
    # observation (docs/feeds.md) ---
    if order.pair.is_feed_priced and order.type == OrderType.MARKET:
        submit = partial(engine.feed_take,
                         stale_after_ms=int(settings.FEED_STALE_AFTER_S * 1000))
    # --- end feeds ---
    try:
        try:
            submit(order.pair.symbol, engine_order)
        except EngineStateMissing:
            try:
                engine_recover(pair=order.pair)
            except Exception:  # the market's rebuild failed, not this order: the relay retries
                logger.exception("engine recovery of %s failed; order %s waits in the outbox",
                                 order.pair.symbol, order_id)
                _outbox_attempt(order_id)
                return False
            submit(order.pair.symbol, engine_order)
    except redis.ResponseError as exc:
        # The engine's script ran and refused this order (a Lua assert): the same order will be
        # refused again, so it is retried a few times (a passing condition such as OOM clears),
        # then quarantined.
        attempts = _outbox_attempt(order_id)
        logger.warning("engine refused order %s (attempt %d): %s", order_id, attempts, exc)
        if attempts >= SUBMIT_REFUSALS_MAX:
            order_quarantine(order_id=order_id, reason=CancelReason.ENGINE_REFUSED,
                             detail=str(exc))
            return True
        return False
    except redis.RedisError:
        logger.exception("engine submit of order %s failed; the relay will retry", order_id)
        _outbox_attempt(order_id)
        return False
    return True


# Refusals by the engine's scripts before an order is quarantined (the relay tries about once a
# second, so a refusal that lasts ten seconds).
SUBMIT_REFUSALS_MAX = 10


def _outbox_attempt(order_id: int) -> int:
    """Count one failed submission of ``order_id``; returns the attempts so far."""
    with transaction.atomic():
        updated = (OrderOutbox.objects.filter(order_id=order_id)
                   .update(attempts=F("attempts") + 1))
        if not updated:
            return 0
        return OrderOutbox.objects.values_list("attempts", flat=True).get(order_id=order_id)


def order_quarantine(*, order_id: int, reason: str, detail: str,
                     rebuilding: bool = False) -> bool:
    """Take an order the engine can never hold out of the flow: release what it holds through
    the ledger and close it with ``reason`` (a ``CancelReason``). A pending order (the engine
    never acknowledged it) becomes ``rejected``. With ``rebuilding`` (the market's recovery,
    which holds its cursor lock and rebuilds the engine's state without this order) an open or
    untriggered order may be closed too, as ``cancelled``. Its outbox row is kept, or written,
    marked quarantined (the durable count; the relay skips it). Owns its transaction (a
    savepoint in the caller's); locks the order row, then the balance (``ledger_post``): the
    order of settlement's locks.

    Returns False, changing nothing, when the order is not in a status it may close. Logs a
    warning and writes the audit event ``order.quarantined``."""
    now = timezone.now()
    with transaction.atomic():
        order = (Order.objects.select_for_update(of=("self",))
                 .select_related("pair", "user").filter(pk=order_id).first())
        closable = OPEN_STATUSES if rebuilding else (OrderStatus.PENDING,)
        if order is None or order.status not in closable:
            return False
        released = order.hold_remaining
        if released > 0:
            pair = order.pair
            asset_id = pair.quote_id if order.side == Side.BUY else pair.base_id
            release = BucketMove(asset_id=asset_id, amount=released,
                                 from_bucket=Bucket.LOCKED, kind=JournalTransaction.Kind.RELEASE)
            ledger_post(postings=[Posting(
                kind=release.kind, reference=f"order:{order.pk}",
                legs=release.legs(wallet_account_id_get(user=order.user)))])
        order.status = (OrderStatus.REJECTED if order.status == OrderStatus.PENDING
                        else OrderStatus.CANCELLED)
        order.cancel_reason = reason
        order.hold_remaining = Decimal(0)
        order.save(update_fields=["status", "cancel_reason", "hold_remaining", "updated_at"])
        OrderOutbox.objects.update_or_create(
            order=order, defaults={"quarantined_at": now, "quarantine_reason": detail[:300]})
        audit_record(event="order.quarantined", user=order.user, order_id=order.pk,
                     symbol=order.pair.symbol, status=order.status, reason=reason,
                     detail=detail[:300], released=str(released))
        quarantined = OrderOutbox.objects.filter(quarantined_at__isnull=False).count()
    logger.warning("order %s quarantined (%s): %s; released %s; %d quarantined in all",
                   order_id, reason, detail, released, quarantined)
    return True


def order_engine_refusal(order: Order) -> OffGrid | InvalidEngineOrder | None:
    """Why the engine can never take ``order`` as written (None: it can)."""
    try:
        engine_order_for(order).check()
    except (OffGrid, InvalidEngineOrder) as exc:
        return exc
    return None


def order_quarantine_reason(refusal: OffGrid | InvalidEngineOrder) -> str:
    """The ``CancelReason`` of a quarantine for ``refusal``."""
    if isinstance(refusal, OutOfEngineRange) or (isinstance(refusal, InvalidEngineOrder)
                                                 and refusal.out_of_range):
        return CancelReason.OUT_OF_RANGE
    if isinstance(refusal, OffGrid):
        return CancelReason.INVALID_PRECISION
    return CancelReason.ENGINE_REFUSED


def _pending_unacknowledged() -> QuerySet[Order]:
    return (Order.objects.filter(status=OrderStatus.PENDING, engine_seq__isnull=True)
            .select_related("pair", "pair__base", "pair__quote").order_by("pk"))


def orders_stuck_quarantine() -> list[int]:
    """Quarantine every pending order the engine never acknowledged and can never take (written
    before placement checked the engine's range, or left off the grid by a market's new tick):
    each is rejected and its hold released (``order_quarantine``). Returns their ids.
    Idempotent; what the engine can take is left to the relay."""
    quarantined = []
    for order in _pending_unacknowledged().iterator(chunk_size=500):
        refusal = order_engine_refusal(order)
        if refusal is not None and order_quarantine(
                order_id=order.pk, reason=order_quarantine_reason(refusal), detail=str(refusal)):
            quarantined.append(order.pk)
    return quarantined


def order_holds_never_settling() -> list[tuple[int, str]]:
    """Holds no engine event will ever release, for ``ledger_check``: funds still held by a
    closed order, and pending orders the engine can never take. (held asset id, detail) per
    order."""
    problems = [
        (asset_id, f"order {order_id} is {status} but still holds {amount}")
        for order_id, status, amount, asset_id in Order.objects.filter(
            status__in=CLOSED_STATUSES, hold_remaining__gt=0)
        .annotate(asset_id=Case(When(side=Side.BUY, then=F("pair__quote_id")),
                                default=F("pair__base_id")))
        .order_by("pk").values_list("pk", "status", "hold_remaining", "asset_id")
    ]
    for order in _pending_unacknowledged().filter(hold_remaining__gt=0).iterator(
            chunk_size=500):
        refusal = order_engine_refusal(order)
        if refusal is not None:
            asset_id = order.pair.quote_id if order.side == Side.BUY else order.pair.base_id
            problems.append((asset_id, f"order {order.pk} is pending and holds "
                             f"{order.hold_remaining}, but the engine can never take it: "
                             f"{refusal}"))
    return problems


def outbox_relay(*, older_than_s: float = 2.0, limit: int = 500) -> int:
    """Re-submit orders whose outbox row is older than ``older_than_s`` (the engine has not
    acknowledged them: a crash between commit and submit, or Redis was down). Returns how many.

    One row never holds up the others: rows that failed least go first, a row the engine can
    never take is quarantined (``order_submit``), and an unexpected error on one row is logged
    and counted on the row while the relay goes on with the next."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    order_ids = list(OrderOutbox.objects.filter(created_at__lt=cutoff,
                                                quarantined_at__isnull=True)
                     .order_by("attempts", "order_id")
                     .values_list("order_id", flat=True)[:limit])
    for order_id in order_ids:
        try:
            order_submit(order_id=order_id)
        except Exception:  # any one row's failure: log it and move on to the next
            logger.exception("relay of order %s failed; it stays in the outbox", order_id)
            _outbox_attempt(order_id)
    return len(order_ids)


def _user_order(*, user: User, order_id: int) -> Order:
    order = (Order.objects.select_related("pair", "pair__base", "pair__quote")
             .filter(user=user, pk=order_id).first())
    if order is None:
        raise OrderNotFound(fields={"id": ["No such order."]})
    return order


def order_cancel(*, user: User, order_id: int, wait_s: float = 1.0) -> Order:
    """Ask the engine to cancel one of ``user``'s open orders; settlement releases the unfilled
    hold exactly once when it applies the engine's ``done``. Waits up to ``wait_s`` for that, so
    the answer usually shows the order cancelled. Another user's order: ``OrderNotFound``;
    a closed order: ``OrderNotOpen`` (409)."""
    order = _user_order(user=user, order_id=order_id)
    if order.status not in OPEN_STATUSES:
        raise OrderNotOpen()
    _engine_cancel(order)
    return _wait_closed(order, wait_s)


def _engine_cancel(order: Order) -> None:
    engine = get_engine()
    try:
        if order.status == OrderStatus.PENDING:
            order_submit(order_id=order.pk)  # make sure the engine has it before cancelling
            order.refresh_from_db(fields=["status"])
            if order.status not in OPEN_STATUSES:
                return  # quarantined: the engine never had it, and its hold is released
        engine.cancel(order.pair.symbol, str(order.pk))
    except redis.RedisError as exc:
        raise EngineUnavailable() from exc


def _wait_closed(order: Order, wait_s: float) -> Order:
    deadline = time.monotonic() + wait_s
    while True:
        order.refresh_from_db()
        if order.status not in OPEN_STATUSES or time.monotonic() >= deadline:
            return order
        time.sleep(0.01)


def order_cancel_all(*, user: User, symbol: str | None = None) -> list[Order]:
    """Cancel all of ``user``'s open orders (in one market when ``symbol``). Returns the orders
    that were open, refreshed after the engine's answers settled (waits up to 1 s)."""
    open_orders = Order.objects.select_related("pair", "pair__base", "pair__quote").filter(
        user=user, status__in=OPEN_STATUSES)
    if symbol is not None:
        open_orders = open_orders.filter(pair=pair_get(symbol=symbol))
    orders = list(open_orders.order_by("pk"))
    engine = get_engine()
    try:
        for order in orders:
            if order.status == OrderStatus.PENDING:
                order_submit(order_id=order.pk)
        for pair_symbol in sorted({order.pair.symbol for order in orders}):
            engine.cancel_all(pair_symbol, user.pk)
    except redis.RedisError as exc:
        raise EngineUnavailable() from exc
    deadline = time.monotonic() + 1.0
    for order in orders:
        _wait_closed(order, max(0.0, deadline - time.monotonic()))
    return orders
