"""The raw SQL of orders (table and column names from the models)."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Field

from markets.models import TradingPair
from markets.sql import PAIR_GUARD_SQL
from orders.models import Fill, Order, OrderOutbox
from wallets.models import Account, Balance, Bucket, JournalTransaction, LedgerEntry
from wallets.sql import bucket_move_sql


@cache
def order_write_statement() -> tuple[str, tuple[Field, ...]]:  # type: ignore[type-arg]
    """The statement of ``orders.services._order_write``, built once per process. The order's
    columns are every concrete column of ``Order`` (a new column needs no change here), each
    value cast to its column's type (the statement is prepared: parameter types must not depend
    on NULLs)."""
    fields = tuple(field for field in Order._meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(
        f"CAST(%(order_{field.attname})s AS {field.db_type(connection)})" for field in fields
    )
    moved, journal = bucket_move_sql(
        account=f"(SELECT id FROM {Account._meta.db_table} WHERE user_id = %(user)s)",
        condition="EXISTS (SELECT 1 FROM pair_guard)",
        reference="'order:' || (SELECT id FROM placed)",
    )
    order_table, outbox_table = quote(Order._meta.db_table), quote(OrderOutbox._meta.db_table)
    # Table and column names come from the models, the rest is constant: nothing from input.
    sql = (
        f"WITH {PAIR_GUARD_SQL}, {moved},"
        f" placed AS (INSERT INTO {order_table} ({columns}) SELECT {values} FROM moved"
        " RETURNING id),"
        f" outbox AS (INSERT INTO {outbox_table} (order_id, created_at, attempts)"
        " SELECT id, %(outbox_now)s, 0 FROM placed),"
        f" {journal}"
        " SELECT (SELECT id FROM placed), EXISTS (SELECT 1 FROM pair_guard)"
    )
    return sql, fields


@cache
def orders_write_many_statement(same: frozenset[str]) -> str:
    """The statement of ``orders.services.orders_place_many``: many orders of one market, each
    of a different user, written as ``order_write_statement`` writes one, in one statement.

    Parameters (named): the market's ``pair_guard`` ones, ``hold_assets``/``hold_amounts`` and
    one array per order column (``order_<attname>``), all of the same length, and ``now``; a
    column named in ``same`` (attnames) has one value in every row and is bound once, as a
    scalar (one statement text per such set, cached). Per row, the hold's balance UPDATE takes
    the funds only if the market still holds and the available balance covers it (re-checked
    on the latest row version after a lock wait, as for one order); the rows it moved get their
    order, outbox row, and the hold's journal (``order:<id>``) and two entries. Users must be
    distinct: an UPDATE ... FROM changes a balance row once. Returns one row: whether the market
    held, and the user ids and
    order ids placed (arrays)."""
    fields = tuple(field for field in Order._meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    same = same - {"user_id"}  # rows are told apart by user
    varying = [field for field in fields if field.attname not in same]
    arrays = ", ".join(
        f"CAST(%(order_{field.attname})s AS {field.db_type(connection)}[])" for field in varying
    )
    names = ", ".join(f"c_{field.attname}" for field in varying)
    picked = ", ".join(
        f"CAST(%(order_{field.attname})s AS {field.db_type(connection)})"
        if field.attname in same
        else f"r.c_{field.attname}"
        for field in fields
    )
    account, balance = Account._meta.db_table, Balance._meta.db_table
    journal, entry = JournalTransaction._meta.db_table, LedgerEntry._meta.db_table
    order_table, outbox_table = quote(Order._meta.db_table), quote(OrderOutbox._meta.db_table)
    hold = JournalTransaction.Kind.HOLD.value
    available, locked = Bucket.AVAILABLE.value, Bucket.LOCKED.value
    # Table and column names come from the models, the rest is constant: nothing from input.
    sql = f"""WITH {PAIR_GUARD_SQL},
req AS (
    SELECT * FROM unnest(CAST(%(hold_assets)s AS bigint[]), CAST(%(hold_amounts)s AS numeric[]),
                         {arrays})
        WITH ORDINALITY AS r(hold_asset, hold_amount, {names}, n)
), moved AS (
    UPDATE {balance} b
    SET available = b.available - r.hold_amount, locked = b.locked + r.hold_amount
    FROM req r, {account} a
    WHERE a.user_id = r.c_user_id AND b.account_id = a.id AND b.asset_id = r.hold_asset
      AND EXISTS (SELECT 1 FROM pair_guard)
      AND b.available - r.hold_amount >= 0
    RETURNING r.n, b.account_id, b.asset_id, b.available, b.locked, r.hold_amount
), placed AS (
    INSERT INTO {order_table} ({columns})
    SELECT {picked} FROM req r JOIN moved m ON m.n = r.n ORDER BY r.n
    RETURNING id, user_id
), outbox AS (
    INSERT INTO {outbox_table} (order_id, created_at, attempts)
    SELECT id, %(now)s, 0 FROM placed
), journals AS (
    INSERT INTO {journal} (kind, reference, memo, created_at)
    SELECT '{hold}', 'order:' || p.id, '', %(now)s FROM placed p ORDER BY p.id
    RETURNING id, reference
), entries AS (
    INSERT INTO {entry} (journal_id, account_id, asset_id, bucket, amount, balance_after)
    SELECT j.id, m.account_id, m.asset_id, leg.bucket, leg.sign * m.hold_amount,
           CASE leg.bucket WHEN '{available}' THEN m.available ELSE m.locked END
    FROM journals j
    JOIN placed p ON j.reference = 'order:' || p.id
    JOIN req r ON r.c_user_id = p.user_id
    JOIN moved m ON m.n = r.n,
    (VALUES (1, '{available}', -1), (2, '{locked}', 1)) AS leg(k, bucket, sign)
    ORDER BY j.id, leg.k
)
SELECT EXISTS (SELECT 1 FROM pair_guard), array_agg(p.user_id), array_agg(p.id) FROM placed p"""
    return sql


@cache
def public_fills_sql() -> str:
    """``orders.selectors.fill_list_older_than``: a user's newest fills before a time, with
    what a public profile shows of each (newest first)."""
    return (
        "SELECT p.symbol, f.side, f.price, f.quantity, p.tick_size, p.lot_size, f.created_at"
        f" FROM {Fill._meta.db_table} f JOIN {TradingPair._meta.db_table} p ON p.id = f.pair_id"
        " WHERE f.user_id = %(user_id)s AND f.created_at < %(before)s"
        " ORDER BY f.id DESC LIMIT %(limit)s"
    )
