"""The raw SQL of settlement's hot path: column-array statements (``tradehive.sql.array_cursor``)
on the orders and fills tables, named from the models."""

from __future__ import annotations

from orders.models import Fill, Order

_ORDERS = Order._meta.db_table
_FILLS = Fill._meta.db_table

# The orders a batch names, locked in primary-key order. Binds: the order ids.
_ORDER_FIELDS = Order._meta.concrete_fields
ORDERS_LOCK_ATTNAMES = [f.attname for f in _ORDER_FIELDS]
ORDERS_LOCK = (
    f"SELECT {', '.join(f.column for f in _ORDER_FIELDS)} FROM {_ORDERS}"
    " WHERE id = ANY(%b::bigint[]) ORDER BY id FOR UPDATE"
)

# A batch's fills, in order, returning their ids. Binds: one array per column below.
_FILL_COLUMNS = (
    "order_id",
    "user_id",
    "pair_id",
    "engine_seq",
    "side",
    "price",
    "quantity",
    "quote_quantity",
    "fee",
    "fee_asset_id",
    "liquidity",
    "created_at",
)
_FILL_TYPES = (
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "varchar",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "bigint",
    "varchar",
    "timestamptz",
)
FILLS_INSERT = (
    f"INSERT INTO {_FILLS} ({', '.join(_FILL_COLUMNS)}) SELECT {', '.join(_FILL_COLUMNS)}"
    f" FROM unnest({', '.join(f'%b::{kind}[]' for kind in _FILL_TYPES)})"
    f" WITH ORDINALITY AS t({', '.join(_FILL_COLUMNS)}, n) ORDER BY n RETURNING id"
)

# The settled fields of the orders a batch touched (rows the caller has locked). Binds: ids,
# statuses, cancel reasons, filled quantities, filled quotes, fees paid, holds remaining,
# engine sequences, update times.
ORDERS_PROGRESS_UPDATE = (
    f"UPDATE {_ORDERS} AS o SET status = v.status, cancel_reason = v.cancel_reason,"
    " filled_quantity = v.filled_quantity, filled_quote = v.filled_quote,"
    " fee_paid = v.fee_paid, hold_remaining = v.hold_remaining,"
    " engine_seq = v.engine_seq, updated_at = v.updated_at"
    " FROM unnest(%b::bigint[], %b::varchar[], %b::varchar[], %b::numeric[],"
    " %b::numeric[], %b::numeric[], %b::numeric[], %b::bigint[], %b::timestamptz[])"
    " AS v(id, status, cancel_reason, filled_quantity, filled_quote, fee_paid,"
    " hold_remaining, engine_seq, updated_at) WHERE o.id = v.id"
)
