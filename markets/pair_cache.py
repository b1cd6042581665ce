"""Markets for order placement, kept in process, and the guard that keeps that honest.

Placement needs a market's terms (status, tick, lot, minimum notional, fees, the assets'
decimals) on every order; they change only when an admin edits, halts or resumes the market.
``pair_for_order`` keeps the rows of active markets in process. The cache is never trusted for
writing: the statement that writes an order includes ``PAIR_GUARD_SQL``, which re-reads the
market's row under a share lock (FOR KEY SHARE) and passes only if it is still active on exactly
the cached terms. When it does not pass, and when a request is refused on cached terms,
placement decides again on a fresh read (``fresh=True``). So a halt refuses orders from the
moment it commits (a halt in progress holds the row FOR UPDATE: the guard waits for it, then
sees it), and new terms apply to the next order.

A separate module from ``markets.selectors`` (plain reads) because of that contract."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Model

from markets.errors import UnknownMarket
from markets.models import TradingPair
from markets.sql import PAIR_READ_SQL
from tradehive.sql import prepared_cursor
from wallets.models import Asset


def _in_model_order(model: type[Model], names: set[str]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


_PAIR_FIELDS = (
    "id",
    "symbol",
    "base_id",
    "quote_id",
    "tick_size",
    "lot_size",
    "min_notional",
    "maker_fee",
    "taker_fee",
    "status",
    "price_source",
    "feed_symbol",
)
# ``Model.from_db`` takes a subset of the fields in the model's own order: the SELECT's.
assert _in_model_order(TradingPair, set(_PAIR_FIELDS)) == _PAIR_FIELDS, _PAIR_FIELDS
_ASSET_FIELDS = _in_model_order(Asset, {"id", "symbol", "decimals"})

# symbol -> the row of an active market as PAIR_READ_SQL returns it. Plain dict operations:
# atomic under the GIL, and a lost update only costs a read.
_rows: dict[str, tuple[Any, ...]] = {}


def pair_for_order(*, symbol: str, fresh: bool = False) -> TradingPair:
    """The market ``symbol`` (any case) with its assets, from the process cache or, when not
    there or ``fresh``, from the database (one prepared query; the cache is updated). Raises
    ``UnknownMarket``. Only active markets are kept: a halted one is read again on every order,
    so its resumption is seen at once. Each call returns new instances (callers may attach them
    to new orders). Fields not read (``display_order``, timestamps) are deferred."""
    normalized = symbol.strip().upper()
    row = None if fresh else _rows.get(normalized)
    if row is None:
        _rows.pop(normalized, None)
        with prepared_cursor() as cursor:
            cursor.execute(PAIR_READ_SQL, [normalized])
            row = cursor.fetchone()
        if row is None:
            raise UnknownMarket(f"No market {symbol!r}.")
        if row[_PAIR_FIELDS.index("status")] == TradingPair.Status.ACTIVE:
            _rows[normalized] = row
    return _pair_from_row(row)


def pair_guard_params(pair: TradingPair) -> dict[str, int | str | Decimal]:
    """The parameters of ``PAIR_GUARD_SQL`` for the terms ``pair`` was read with."""
    return {
        "guard_pair": pair.pk,
        "guard_base": pair.base_id,
        "guard_quote": pair.quote_id,
        "guard_tick": pair.tick_size,
        "guard_lot": pair.lot_size,
        "guard_min_notional": pair.min_notional,
        "guard_maker_fee": pair.maker_fee,
        "guard_taker_fee": pair.taker_fee,
        "guard_price_source": pair.price_source,
        "guard_base_decimals": pair.base.decimals,
        "guard_quote_decimals": pair.quote.decimals,
    }


def _pair_from_row(row: tuple[Any, ...]) -> TradingPair:
    width = len(_PAIR_FIELDS)
    pair = TradingPair.from_db(connection.alias, _PAIR_FIELDS, row[:width])
    base_symbol, base_decimals, quote_symbol, quote_decimals = row[width:]
    pair.base = _asset(pair.base_id, base_symbol, base_decimals)
    pair.quote = _asset(pair.quote_id, quote_symbol, quote_decimals)
    return pair


def _asset(asset_id: int, symbol: str, decimals: int) -> Asset:
    values = {"id": asset_id, "symbol": symbol, "decimals": decimals}
    return Asset.from_db(connection.alias, _ASSET_FIELDS, [values[name] for name in _ASSET_FIELDS])
