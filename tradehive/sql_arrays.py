"""Column-array statements on PostgreSQL: a cursor that binds their parameters cheaply.

The settlement hot path writes its rows as ``INSERT ... SELECT FROM unnest(%b::type[], ...)``:
one statement per table and batch. Django's psycopg cursor binds on the client: it quotes every
array element into the SQL text in Python, which for arrays of thousands of values cost about
as much as the database work. ``array_cursor`` binds on the server, in binary for ``%b``
placeholders (exact for ``numeric``: Decimals go as base-10000 digits, never through float)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def array_cursor() -> Iterator[Any]:
    """A cursor of the default connection that binds parameters on the server (PostgreSQL
    only). Django's cursor wrapper is kept: query logging, execute wrappers, error translation
    (``IntegrityError`` etc.). Placeholders: ``%b`` (binary) or ``%s``, with explicit casts."""
    # Defined only under psycopg 3 (django-stubs don't know them); the project requires it.
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        TIMESTAMPTZ_OID,
        ServerBindingCursor,
    )
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    # As Django's create_cursor: timestamps load in the connection's time zone.
    tzloader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != tzloader.timezone:
        register_tzloader(connection.timezone, raw)
    # _prepare_cursor wraps a raw cursor the way connection.cursor() does (not in the stubs).
    with connection._prepare_cursor(raw) as cursor:  # type: ignore[attr-defined]
        yield cursor
