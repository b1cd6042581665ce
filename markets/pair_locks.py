"""The market a new order goes into, read and share-locked inside the placing transaction.

Kept apart from ``markets.selectors`` (plain reads): this selector takes a row lock and must be
called inside the caller's ``transaction.atomic``."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model

from markets.errors import UnknownMarket
from markets.models import TradingPair
from markets.selectors import pair_get
from tradehive.prepared_sql import prepared_cursor
from wallets.models import Asset


def _in_model_order(model: type[Model], names: set[str]) -> tuple[str, ...]:
    # ``Model.from_db`` takes a subset of fields in the model's own field order.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


_PAIR_FIELDS = ("id", "symbol", "base_id", "quote_id", "tick_size", "lot_size", "min_notional",
                "maker_fee", "taker_fee", "status", "price_source", "feed_symbol")
# ``Model.from_db`` takes a subset of the fields in the model's own order: the SELECT's.
assert _in_model_order(TradingPair, set(_PAIR_FIELDS)) == _PAIR_FIELDS, _PAIR_FIELDS
_ASSET_FIELDS = _in_model_order(Asset, {"id", "symbol", "decimals"})

# One statement, no ORM compilation: placement runs it on every order. FOR KEY SHARE OF p
# conflicts with the FOR UPDATE that ``pair_set_status``/``pair_update`` take, and with nothing
# else placement or settlement does (the orders' foreign-key checks take KEY SHARE too).
_PAIR_FOR_ORDER_SQL = (
    "SELECT p.id, p.symbol, p.base_id, p.quote_id, p.tick_size, p.lot_size, p.min_notional,"
    " p.maker_fee, p.taker_fee, p.status, p.price_source, p.feed_symbol,"
    " b.symbol, b.decimals, q.symbol, q.decimals"
    " FROM markets_tradingpair p"
    " JOIN wallets_asset b ON b.id = p.base_id"
    " JOIN wallets_asset q ON q.id = p.quote_id"
    " WHERE p.symbol = %s FOR KEY SHARE OF p"
)


def pair_lock_for_order(*, symbol: str) -> TradingPair:
    """The market ``symbol`` (any case) with its assets, as committed now, its row share-locked
    until the caller's transaction ends. Raises ``UnknownMarket``.

    The lock makes the status check exact: a halt (``pair_set_status``, FOR UPDATE) either
    commits before this read, so the order sees ``halted``, or waits until the order's
    transaction is over. Fields not read here (``display_order``, timestamps) are deferred.
    Caller holds an open transaction. One prepared query on PostgreSQL; elsewhere (SQLite, whose
    transactions already serialize writers) a plain ``pair_get``."""
    if not connection.in_atomic_block:
        raise RuntimeError("pair_lock_for_order must run inside the caller's transaction")
    normalized = symbol.strip().upper()
    if connection.vendor != "postgresql":
        return pair_get(symbol=normalized)
    with prepared_cursor() as cursor:
        cursor.execute(_PAIR_FOR_ORDER_SQL, [normalized])
        row = cursor.fetchone()
    if row is None:
        raise UnknownMarket(f"No market {symbol!r}.")
    width = len(_PAIR_FIELDS)
    pair = TradingPair.from_db(connection.alias, _PAIR_FIELDS, row[:width])
    base_symbol, base_decimals, quote_symbol, quote_decimals = row[width:]
    pair.base = _asset(pair.base_id, base_symbol, base_decimals)
    pair.quote = _asset(pair.quote_id, quote_symbol, quote_decimals)
    return pair


def _asset(asset_id: int, symbol: str, decimals: int) -> Asset:
    values = {"id": asset_id, "symbol": symbol, "decimals": decimals}
    return Asset.from_db(connection.alias, _ASSET_FIELDS, [values[name] for name in _ASSET_FIELDS])
