"""Writes of markets: trading pairs (admin console) and the market-data write path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import audit_record
from accounts.models import User
from markets.candles import candle_deltas, candles_apply
from markets.errors import MarketCancelOnly, MarketHalted
from markets.models import Side, TradingPair
from markets.selectors import pair_get
from markets.sql import TRADES_INSERT
from markets.ticker import ticker_refresh
from tradehive.errors import InvalidInput
from tradehive.money import format_decimal
from tradehive.push import tickers_mark_dirty
from tradehive.sql import prepared_cursor
from wallets.models import Asset

__all__ = [
    "PAIR_EDITABLE_FIELDS",
    "TradeInput",
    "pair_assert_accepts_orders",
    "pair_create",
    "pair_get",
    "pair_seed_defaults",
    "pair_set_status",
    "pair_update",
    "pair_validate",
    "trades_record",
]

PAIR_EDITABLE_FIELDS = (
    "tick_size",
    "lot_size",
    "min_notional",
    "maker_fee",
    "taker_fee",
    "price_source",
    "feed_symbol",
    "display_order",
)


def pair_assert_accepts_orders(*, pair: TradingPair) -> None:
    """The one tradability check for new orders (cancels are always allowed).

    Raises ``MarketHalted`` (423 ``market_halted``) for a halted market and
    ``MarketCancelOnly`` (423 ``market_cancel_only``, a ``MarketHalted`` too) for one in
    cancel-only mode. Checks ``pair.status`` as loaded: load the pair in the same transaction."""
    if pair.status == TradingPair.Status.HALTED:
        raise MarketHalted(f"{pair.symbol} is halted; new orders are refused.")
    if pair.status == TradingPair.Status.CANCEL_ONLY:
        raise MarketCancelOnly(f"{pair.symbol} accepts cancels only.")


def pair_validate(*, pair: TradingPair) -> None:
    """Model validation (``clean()`` + field checks) as a domain error: ``InvalidInput`` with
    the failing fields. Derives ``pair.symbol``."""
    try:
        pair.full_clean(validate_unique=True, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(
            fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        ) from None


def _pair_snapshot(pair: TradingPair) -> dict[str, str]:
    """Field values as audit-log strings (decimals normalised, so 0.0015 == 0.00150000)."""
    values = {}
    for name in (*PAIR_EDITABLE_FIELDS, "status"):
        value = getattr(pair, name)
        values[name] = format_decimal(value) if isinstance(value, Decimal) else str(value)
    return values


@transaction.atomic
def pair_create(
    *,
    base: Asset,
    quote: Asset,
    tick_size: Decimal,
    lot_size: Decimal,
    actor: User | None,
    min_notional: Decimal = Decimal(0),
    maker_fee: Decimal = Decimal("0.0005"),
    taker_fee: Decimal = Decimal("0.0015"),
    status: str = TradingPair.Status.ACTIVE,
    price_source: str = TradingPair.BOOK,
    feed_symbol: str = "",
    display_order: int = 0,
) -> TradingPair:
    """Create a market after validation; audited as ``market.created``."""
    pair = TradingPair(
        base=base,
        quote=quote,
        tick_size=tick_size,
        lot_size=lot_size,
        min_notional=min_notional,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        status=status,
        price_source=price_source,
        feed_symbol=feed_symbol,
        display_order=display_order,
    )
    pair_validate(pair=pair)
    pair.save()
    audit_record(
        event="market.created", actor=actor, symbol=pair.symbol, rules=_pair_snapshot(pair)
    )
    return pair


@transaction.atomic
def pair_update(*, pair: TradingPair, actor: User | None, **changes: Any) -> TradingPair:
    """Change a market's editable fields (``PAIR_EDITABLE_FIELDS``; the assets, symbol and status
    are not: status changes go through ``pair_set_status``). Audited as ``market.changed`` with
    the old and new values; a no-op writes nothing."""
    unknown = set(changes) - set(PAIR_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(fields={name: ["Cannot be changed."] for name in sorted(unknown)})
    locked = TradingPair.objects.select_for_update().select_related("base", "quote").get(pk=pair.pk)
    before = _pair_snapshot(locked)
    for name, value in changes.items():
        setattr(locked, name, value)
    pair_validate(pair=locked)
    after = _pair_snapshot(locked)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if changed:
        locked.save()
        audit_record(event="market.changed", actor=actor, symbol=locked.symbol, changes=changed)
    return locked


@transaction.atomic
def pair_set_status(
    *, pair: TradingPair, status: str, actor: User | None, reason: str = ""
) -> TradingPair:
    """Halt, resume or set a market cancel-only; audited as ``market.status_changed``.

    Takes the pair's row lock. Setting the status it already has writes nothing."""
    if status not in TradingPair.Status.values:
        raise InvalidInput(fields={"status": [f"Must be one of {TradingPair.Status.values}."]})
    locked = TradingPair.objects.select_for_update().select_related("base", "quote").get(pk=pair.pk)
    previous = locked.status
    if previous != status:
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            event="market.status_changed",
            actor=actor,
            symbol=locked.symbol,
            old_status=previous,
            new_status=status,
            reason=reason,
        )
    pair.status = locked.status
    return locked


@dataclass(frozen=True, slots=True)
class TradeInput:
    """One fill as the engine reported it. ``quote_quantity`` defaults to price x quantity."""

    sequence: int
    price: Decimal
    quantity: Decimal
    taker_side: str
    created_at: datetime
    quote_quantity: Decimal | None = None
    maker_order_id: int | None = None
    taker_order_id: int | None = None


def _trades_checked(pair: TradingPair, trades: Sequence[TradeInput]) -> list[TradeInput]:
    """``trades`` validated, each with its quote quantity (price x quantity by default)."""
    checked = []
    for t in trades:
        if t.price <= 0 or t.quantity <= 0 or t.taker_side not in (Side.BUY, Side.SELL):
            raise InvalidInput(f"Trade {t.sequence} of {pair.symbol} is not a valid fill.")
        checked.append(
            t if t.quote_quantity is not None else replace(t, quote_quantity=t.price * t.quantity)
        )
    return checked


def ticker_refresh_pushed(*, pair: TradingPair) -> None:
    """Recompute the cached ticker after trades commit, then mark it for the websocket
    coalescer: settlement's push marks only the depth of a batch with trades, so the coalescer
    never publishes the ticker from the cache this refresh is about to replace."""
    ticker_refresh(pair=pair)
    tickers_mark_dirty(symbols=[pair.symbol])


def trades_record(
    *, pair: TradingPair, trades: Sequence[TradeInput], ticker_on_commit: bool = True
) -> None:
    """Insert a batch of public trades of ``pair`` and roll them into every interval's candle.

    The caller owns the transaction. One INSERT fed by column arrays for the trades (no
    ``Trade`` instances: building and binding thousands of model instances a second cost more
    than the database work on settlement's hot path), then one upsert statement for all the
    candles they touch (see ``markets.candles``). The cached 24h ticker is recomputed once the
    transaction commits (``ticker_refresh_pushed``), unless ``ticker_on_commit`` is false: the
    caller then runs it itself (settlement does, after its push). A sequence recorded before
    fails with ``IntegrityError`` (unique per market), so a replayed fill never counts twice."""
    if not trades:
        return
    checked = _trades_checked(pair, trades)
    with prepared_cursor() as cursor:
        cursor.execute(
            TRADES_INSERT,
            [
                pair.pk,
                [t.sequence for t in checked],
                [t.price for t in checked],
                [t.quantity for t in checked],
                [t.quote_quantity for t in checked],
                [t.taker_side for t in checked],
                [t.maker_order_id for t in checked],
                [t.taker_order_id for t in checked],
                [t.created_at for t in checked],
            ],
        )
    # candle_deltas reads only the sequence, time, price and quantities a TradeInput has too.
    candles_apply(pair=pair, deltas=candle_deltas(checked))  # type: ignore[arg-type]
    if ticker_on_commit:
        transaction.on_commit(partial(ticker_refresh_pushed, pair=pair), robust=True)


# symbol, tick, lot, min notional, maker fee, taker fee, price source, feed symbol
DEFAULT_PAIRS: list[tuple[str, str, str, str, str, str, str, str]] = [
    # tick x lot must be a whole number of the quote's smallest unit (TradingPair.clean).
    ("BTC-KRW", "1000", "0.001", "5000", "0.0005", "0.0015", "sim", ""),
    ("ETH-KRW", "1000", "0.001", "5000", "0.0005", "0.0015", "sim", ""),
    ("XRP-KRW", "1", "1", "5000", "0.0005", "0.0015", "sim", ""),
    ("LPJ-KRW", "1", "1", "1000", "0.0005", "0.0015", "book", ""),
    ("BTC-USDT", "0.01", "0.0001", "5", "0.001", "0.001", "book", ""),
]


@transaction.atomic
def pair_seed_defaults(*, actor: User | None = None) -> list[TradingPair]:
    """Create the demo markets if missing (idempotent; existing markets are left as admins set
    them). Needs the assets (``wallets.services.asset_seed_defaults``)."""
    assets = {a.symbol: a for a in Asset.objects.all()}
    pairs = []
    for order, (symbol, tick, lot, notional, maker, taker, source, feed) in enumerate(
        DEFAULT_PAIRS, start=1
    ):
        existing = TradingPair.objects.select_related("base", "quote").filter(symbol=symbol)
        pair = existing.first()
        if pair is None:
            base_symbol, quote_symbol = symbol.split("-")
            pair = pair_create(
                base=assets[base_symbol],
                quote=assets[quote_symbol],
                tick_size=Decimal(tick),
                lot_size=Decimal(lot),
                min_notional=Decimal(notional),
                maker_fee=Decimal(maker),
                taker_fee=Decimal(taker),
                price_source=source,
                feed_symbol=feed,
                display_order=order * 10,
                actor=actor,
            )
        pairs.append(pair)
    return pairs
