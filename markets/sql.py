"""The raw SQL of markets (table names from the models)."""

from __future__ import annotations

from django.db import connection

from markets.models import Candle, Trade, TradingPair
from wallets.models import Asset

_PAIRS = TradingPair._meta.db_table
_ASSETS = Asset._meta.db_table
_TRADES = Trade._meta.db_table

# A market with its assets' symbols and decimals (``markets.pair_cache.pair_for_order``).
PAIR_READ_SQL = (
    "SELECT p.id, p.symbol, p.base_id, p.quote_id, p.tick_size, p.lot_size, p.min_notional,"
    " p.maker_fee, p.taker_fee, p.status, p.price_source, p.feed_symbol,"
    " b.symbol, b.decimals, q.symbol, q.decimals"
    f" FROM {_PAIRS} p"
    f" JOIN {_ASSETS} b ON b.id = p.base_id"
    f" JOIN {_ASSETS} q ON q.id = p.quote_id"
    " WHERE p.symbol = %s"
)

# A WITH-list part for the statement that writes an order: one row when the market is still
# active on the terms of ``pair_guard_params`` (then share-locked until that statement's
# transaction ends), none otherwise. FOR KEY SHARE conflicts with the FOR UPDATE that
# ``pair_set_status`` and ``pair_update`` take, and with nothing placement or settlement does.
PAIR_GUARD_SQL = f"""pair_guard AS (
    SELECT p.id FROM {_PAIRS} p
    JOIN {_ASSETS} b ON b.id = p.base_id
    JOIN {_ASSETS} q ON q.id = p.quote_id
    WHERE p.id = %(guard_pair)s AND p.status = 'active'
      AND p.base_id = %(guard_base)s AND p.quote_id = %(guard_quote)s
      AND p.tick_size = %(guard_tick)s AND p.lot_size = %(guard_lot)s
      AND p.min_notional = %(guard_min_notional)s
      AND p.maker_fee = %(guard_maker_fee)s AND p.taker_fee = %(guard_taker_fee)s
      AND p.price_source = %(guard_price_source)s
      AND b.decimals = %(guard_base_decimals)s AND q.decimals = %(guard_quote_decimals)s
    FOR KEY SHARE OF p
)"""

# A batch of one market's trades as column arrays (``markets.services.trades_record``).
# Binds: pair id, then sequences, prices, quantities, quote quantities, taker sides, maker and
# taker order ids, times.
TRADES_INSERT = (
    f"INSERT INTO {_TRADES} (pair_id, sequence, price, quantity, quote_quantity,"
    " taker_side, maker_order_id, taker_order_id, created_at)"
    " SELECT %b::bigint, * FROM unnest(%b::bigint[], %b::numeric[], %b::numeric[],"
    " %b::numeric[], %b::varchar[], %b::bigint[], %b::bigint[], %b::timestamptz[])"
)

# The candle upsert of ``markets.candles.candles_apply_many``: the open/close of the lowest/
# highest sequence win, high/low widen, volumes add up.
CANDLE_COLUMNS = [
    "pair_id",
    "interval",
    "bucket",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trade_count",
    "first_sequence",
    "last_sequence",
]
# PostgreSQL takes each column as one array (``unnest``): 12 parameters whatever the row count,
# so the driver does not re-parse a statement of thousands of placeholders (measured: 3,000 rows
# in 6 VALUES statements spent ~75% of a 500-market candle roll in psycopg's query parsing).
_PG_ARRAY_TYPES = [
    "bigint",
    "varchar",
    "timestamptz",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "integer",
    "bigint",
    "bigint",
]


def candles_upsert_sql() -> str:
    q = connection.ops.quote_name
    table = q(Candle._meta.db_table)
    columns = CANDLE_COLUMNS
    # Only fixed type names and %b placeholders are interpolated; values go as parameters, in
    # binary (``tradehive.sql.prepared_cursor``).
    arrays = ", ".join(f"%b::{t}[]" for t in _PG_ARRAY_TYPES)
    source = "SELECT * FROM unnest(" + arrays + ")"

    def old(column: str) -> str:
        return f"{table}.{q(column)}"

    def new(column: str) -> str:
        return f"excluded.{q(column)}"

    updates = {
        "open": f"CASE WHEN {new('first_sequence')} < {old('first_sequence')} "
        f"THEN {new('open')} ELSE {old('open')} END",
        "close": f"CASE WHEN {new('last_sequence')} > {old('last_sequence')} "
        f"THEN {new('close')} ELSE {old('close')} END",
        "first_sequence": f"LEAST({old('first_sequence')}, {new('first_sequence')})",
        "last_sequence": f"GREATEST({old('last_sequence')}, {new('last_sequence')})",
        "high": f"GREATEST({old('high')}, {new('high')})",
        "low": f"LEAST({old('low')}, {new('low')})",
        "volume": f"{old('volume')} + {new('volume')}",
        "quote_volume": f"{old('quote_volume')} + {new('quote_volume')}",
        "trade_count": f"{old('trade_count')} + {new('trade_count')}",
    }
    # Only quoted identifiers and %s placeholders are interpolated; values go as parameters.
    return (
        f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
        f"{source} "
        f"ON CONFLICT ({q('pair_id')}, {q('interval')}, {q('bucket')}) DO UPDATE SET "
        + ", ".join(f"{q(column)} = {expression}" for column, expression in updates.items())
    )
