"""The raw SQL of orders (table and column names from the models)."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Field

from markets.sql import PAIR_GUARD_SQL
from orders.models import Order, OrderOutbox
from wallets.models import Account
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
