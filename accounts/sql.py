"""The raw SQL of accounts (table and column names from the models)."""

from __future__ import annotations

from functools import cache

from django.db import connection

from accounts.models import User


@cache
def user_by_id_sql() -> tuple[str, tuple[str, ...]]:
    """One user by id (``%s``), every concrete column, and the columns' attribute names in
    order (for ``User.from_db``)."""
    fields = User._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return (
        f"SELECT {columns} FROM {User._meta.db_table} WHERE id = %s",
        tuple(field.attname for field in fields),
    )
