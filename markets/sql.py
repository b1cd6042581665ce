"""The raw SQL of markets (table names from the models)."""

from __future__ import annotations

from markets.models import Trade, TradingPair
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
