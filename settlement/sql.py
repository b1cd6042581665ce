"""The raw SQL of settlement's hot path: column-array statements (``tradehive.sql.prepared_cursor``)
on the orders and fills tables, named from the models."""

from __future__ import annotations

from orders.models import Fill, Order, OrderOutbox
from settlement.models import MarketCursor
from wallets.models import Account

_ORDERS = Order._meta.db_table
_FILLS = Fill._meta.db_table
_ACCOUNTS = Account._meta.db_table

# The market's cursor row, locked for the batch (the first statement of every batch, so one
# prepared statement instead of the ORM's compile and plan). Binds: the market's id.
_CURSORS = MarketCursor._meta.db_table
CURSOR_LOCK_ATTNAMES = [f.attname for f in MarketCursor._meta.concrete_fields]
CURSOR_LOCK = (
    f"SELECT {', '.join(f.column for f in MarketCursor._meta.concrete_fields)}"
    f" FROM {_CURSORS} WHERE pair_id = %s FOR UPDATE"
)

# The orders a batch names, locked in primary-key order, each row followed by two more columns:
# its owner's wallet account id and the fee account's id (NULL until that account exists), so
# the batch needs no separate statement for either. Only the orders' rows are locked (the
# subqueries of the select list are plain reads). Binds: the order ids.
_ORDER_FIELDS = Order._meta.concrete_fields
ORDERS_LOCK_ATTNAMES = [f.attname for f in _ORDER_FIELDS]
ORDERS_LOCK = (
    f"SELECT {', '.join('o.' + f.column for f in _ORDER_FIELDS)},"
    f" (SELECT a.id FROM {_ACCOUNTS} AS a WHERE a.user_id = o.user_id),"
    f" (SELECT a.id FROM {_ACCOUNTS} AS a WHERE a.kind = '{Account.Kind.FEE.value}'"
    " AND a.user_id IS NULL)"
    f" FROM {_ORDERS} AS o WHERE o.id = ANY(%b::bigint[]) ORDER BY o.id FOR UPDATE OF o"
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

# The end of a batch in one statement: the orders' progress (as ORDERS_PROGRESS_UPDATE), the
# outbox rows of the orders the engine acknowledged deleted, and the market's cursor moved on
# (a settling market is no longer failing). Data-modifying CTEs always run to completion, in
# one snapshot; the three touch different tables and rows this transaction has locked. Binds:
# ORDERS_PROGRESS_UPDATE's nine arrays, the acknowledged order ids, the cursor's last sequence,
# its update time and its id.
BATCH_END = (
    f"WITH progress AS ({ORDERS_PROGRESS_UPDATE}),"
    f" outbox AS (DELETE FROM {OrderOutbox._meta.db_table}"
    " WHERE order_id = ANY(%b::bigint[]))"
    f" UPDATE {MarketCursor._meta.db_table} SET last_seq = %b::bigint,"
    " updated_at = %b::timestamptz, failing_since = NULL, last_error = ''"
    " WHERE id = %b::bigint"
)
