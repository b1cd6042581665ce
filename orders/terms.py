"""Order requests checked against their market: the terms an order is written with and the funds
it holds (``order_terms_check``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings

from engine.engine import StpMode, triggers_on_rise
from engine.runtime import get_engine
from engine.units import price_to_ticks, quantity_to_lots
from markets import price_sources
from markets.errors import StalePrice
from markets.models import TradingPair
from orders.engine_orders import engine_steps, hold_fee_rate, order_engine_check
from orders.errors import BelowMinNotional, InsufficientLiquidity, StopWouldTrigger, invalid_field
from orders.models import PRICED_TYPES, TRIGGER_TYPES, OrderType, Side, TimeInForce
from orders.selectors import last_trade_price
from tradehive.money import decimal_places
from wallets.models import Asset

STP_MODES = tuple(mode.value for mode in StpMode)
# The grammar of a client order id, for every entry point (ccxt's 32-character broker-prefixed
# ids fit). \A...\Z, not ^...$: "$" also matches before a trailing newline ("abc\n").
CLIENT_ORDER_ID_PATTERN = r"\A[A-Za-z0-9_.:-]{1,64}\Z"


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
    # The limit the engine enforces for a buy of a market type by quantity (see
    # ``protective_price``); None when the engine needs no price.
    engine_price: Decimal | None


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


def market_price_source(pair: TradingPair) -> price_sources.PriceSource:
    """The price source of a feed-priced ``pair``; ``StalePrice`` when no installed app serves
    its source (it has no price to fill market orders at)."""
    source = price_sources.source_for(pair)
    if source is None:
        raise StalePrice()
    return source


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


@dataclass(frozen=True, slots=True)
class OrderShape:
    """What ``order_shape_check`` validated of a request: everything but its size (quantity or
    quote amount), which only ``order_size_check`` reads. Many orders of one shape (a copy
    trading fan-out: one market, side, type and price) are checked once for it."""

    side: str
    type: str
    time_in_force: str
    stp_mode: str
    priced: bool
    trigger: bool
    price: Decimal | None
    stop_price: Decimal | None
    post_only: bool
    feed_price: Decimal | None


def order_terms_check(
    *,
    pair: TradingPair,
    side: str,
    type: str,
    quantity: Decimal | None,
    quote_amount: Decimal | None,
    price: Decimal | None,
    stop_price: Decimal | None,
    time_in_force: str | None,
    post_only: bool,
    stp_mode: str | None,
) -> OrderTerms:
    """Validate an order request against ``pair``; raise ``InvalidInput`` (with the field) or a
    more specific error. Returns the terms and the funds to hold. Ends with the engine's own
    range check (``order_engine_check``), so an order that passes can always be submitted.
    The shape's checks (``order_shape_check``), then the size's (``order_size_check``)."""
    shape = order_shape_check(
        pair=pair,
        side=side,
        type=type,
        sized_by_quantity=quantity is not None,
        sized_by_quote=quote_amount is not None,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        post_only=post_only,
        stp_mode=stp_mode,
    )
    return order_size_check(pair=pair, shape=shape, quantity=quantity, quote_amount=quote_amount)


def order_shape_check(
    *,
    pair: TradingPair,
    side: str,
    type: str,
    sized_by_quantity: bool,
    sized_by_quote: bool,
    price: Decimal | None,
    stop_price: Decimal | None,
    time_in_force: str | None,
    post_only: bool,
    stp_mode: str | None,
) -> OrderShape:
    """The checks of ``order_terms_check`` that do not read the order's size (only whether it
    is given as a quantity or a quote amount): the same result for every order of a shape."""
    if side not in _SIDES:
        raise invalid_field("side", "Must be buy or sell.")
    if type not in _TYPES:
        raise invalid_field("type", f"Must be one of {', '.join(OrderType.values)}.")
    tif = time_in_force or TimeInForce.GTC
    if tif not in _TIFS:
        raise invalid_field("time_in_force", "Must be GTC, IOC or FOK.")
    stp = stp_mode or StpMode.EXPIRE_TAKER.value
    if stp not in STP_MODES:
        raise invalid_field("self_trade_prevention", f"Must be one of {', '.join(STP_MODES)}.")
    priced = type in PRICED_TYPES
    trigger = type in TRIGGER_TYPES

    if priced and price is None:
        raise invalid_field("price", "Required for limit, stop-limit and take-profit-limit orders.")
    if not priced and price is not None:
        raise invalid_field("price", "Market orders take no price.")
    if trigger and stop_price is None:
        raise invalid_field("stop_price", "Required for stop and take-profit orders.")
    if not trigger and stop_price is not None:
        raise invalid_field("stop_price", "Only stop and take-profit orders take a stop price.")
    if post_only and (type != OrderType.LIMIT or tif != TimeInForce.GTC):
        raise invalid_field("post_only", "Only GTC limit orders can be post-only.")
    if not priced and time_in_force not in (None, TimeInForce.IOC, TimeInForce.GTC):
        raise invalid_field("time_in_force", "Market orders are immediate-or-cancel by nature.")
    if sized_by_quantity and sized_by_quote:
        raise invalid_field("quote_amount", "Give either quantity or quote_amount, not both.")
    if sized_by_quote and (priced or side != Side.BUY):
        raise invalid_field("quote_amount", "Only buys of a market type spend a quote amount.")
    if not sized_by_quantity and not sized_by_quote:
        raise invalid_field("quantity", "Required.")

    for field, value in (("price", price), ("stop_price", stop_price)):
        if value is not None and not _on_grid(value, pair.tick_size):
            raise invalid_field(
                field,
                f"Must be a multiple of {pair.tick_size.normalize():f}.",
                code="invalid_precision",
            )
        engine_steps(price_to_ticks, value, pair.tick_size, field)

    # A feed-priced market values market orders at its source's price (its latest fresh
    # observation; StalePrice when there is none within FEED_STALE_AFTER_S: docs/feeds.md).
    feed_price: Decimal | None = None
    if pair.is_feed_priced and type == OrderType.MARKET:
        feed_price = market_price_source(pair).market_order_price(pair)

    # The last price matters to trigger orders (already reached?) and to valuing a market sell
    # without bids; limit orders, most of the flow, never read it. A stop or take-profit whose
    # stop the last price has already reached would trigger at once: refused, as Binance does.
    if trigger:
        assert stop_price is not None
        last = last_trade_price(pair=pair)
        rises = triggers_on_rise(side, type)
        if last is not None and (stop_price <= last if rises else stop_price >= last):
            raise invalid_field(
                "stop_price",
                f"The last price {last.normalize():f} already "
                "reached it: use a limit or market order.",
                error=StopWouldTrigger,
            )
    return OrderShape(
        side=side,
        type=type,
        time_in_force=tif,
        stp_mode=stp,
        priced=priced,
        trigger=trigger,
        price=price,
        stop_price=stop_price,
        post_only=post_only,
        feed_price=feed_price,
    )


def order_size_check(
    *,
    pair: TradingPair,
    shape: OrderShape,
    quantity: Decimal | None,
    quote_amount: Decimal | None,
) -> OrderTerms:
    """The checks of ``order_terms_check`` that read the order's size, for a request of a
    checked ``shape`` (sized as that shape says): the grid, the minimum value, the hold and the
    engine's range. Returns the terms."""
    side, type, tif, stp = shape.side, shape.type, shape.time_in_force, shape.stp_mode
    priced, trigger = shape.priced, shape.trigger
    price, stop_price, post_only = shape.price, shape.stop_price, shape.post_only
    feed_price = shape.feed_price
    quote_places = pair.quote.decimals
    if quantity is not None and not _on_grid(quantity, pair.lot_size):
        raise invalid_field(
            "quantity",
            f"Must be a multiple of {pair.lot_size.normalize():f}.",
            code="invalid_precision",
        )
    engine_steps(quantity_to_lots, quantity, pair.lot_size, "quantity")
    if quote_amount is not None and decimal_places(quote_amount) > quote_places:
        raise invalid_field(
            "quote_amount", f"At most {quote_places} decimal places.", code="invalid_precision"
        )

    engine_price: Decimal | None = None
    rate = hold_fee_rate(pair)
    # The value the order is worth, for the minimum-notional check and the hold.
    if priced:
        assert price is not None
        assert quantity is not None
        notional = price * quantity
    elif quote_amount is not None:
        notional = quote_amount
    else:
        assert quantity is not None
        reference = stop_price if trigger else feed_price  # None for book markets
        if reference is None and side == Side.BUY:
            reference = _book_ask_walk(pair=pair, quantity=quantity)
            if reference is None:
                raise invalid_field(
                    "quantity", "There are no sell orders to buy from.", error=InsufficientLiquidity
                )
        if reference is None:  # a market sell: value it at the best bid or the last price
            best_bid = get_engine().best_bid_ask(pair.symbol)[0]
            reference = (
                best_bid * pair.tick_size if best_bid is not None else last_trade_price(pair=pair)
            )
            if reference is None:
                raise invalid_field(
                    "quantity", "There are no buy orders to sell to.", error=InsufficientLiquidity
                )
        if side == Side.BUY:
            engine_price = protective_price(pair=pair, reference=reference)
            notional = engine_price * quantity
        else:
            notional = reference * quantity
    if notional < pair.min_notional:
        raise invalid_field(
            "quantity" if quote_amount is None else "quote_amount",
            f"The order's value must be at least {pair.min_notional.normalize():f} "
            f"{pair.quote.symbol}.",
            error=BelowMinNotional,
        )

    if side == Side.SELL:
        assert quantity is not None
        hold_asset, hold_amount = pair.base, quantity
    else:
        hold_asset = pair.quote
        hold_amount = _ceil_to(notional * (1 + rate), quote_places)
    terms = OrderTerms(
        side=side,
        type=type,
        time_in_force=tif if priced else TimeInForce.IOC,
        post_only=post_only,
        price=price,
        stop_price=stop_price,
        quantity=quantity,
        quote_amount=quote_amount,
        stp_mode=stp,
        hold_asset=hold_asset,
        hold_amount=hold_amount,
        engine_price=engine_price,
    )
    order_engine_check(pair=pair, terms=terms, notional=notional)
    return terms
