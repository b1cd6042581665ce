"""The raw-SQL cursor of the hot paths (PostgreSQL): bound on the server and prepared.

Raw SQL is kept for the statements where the ORM costs more than the database work: each app's
statements live in its ``<app>/sql.py``, naming tables by ``Model._meta.db_table``.

``prepared_cursor`` is the cursor of every such statement: order placement (the market's terms,
the order + outbox insert, the hold) and settlement's transaction (the orders' locks, the
ledger, the fills, trades, candles and notifications, the batch's end).

- Bound on the server: settlement writes its rows as ``INSERT ... SELECT FROM unnest(%b::type[],
  ...)``, one statement per table and batch. Django's psycopg cursor binds on the client: it
  quotes every array element into the SQL text in Python, which for arrays of thousands of
  values cost about as much as the database work. Binary ``%b`` placeholders are exact for
  ``numeric`` (Decimals go as base-10000 digits, never through float).
- Prepared once per connection: Django's psycopg cursor never prepares, so PostgreSQL parses
  and plans every execution again. For order placement that was about half of the database's
  CPU per order; for a settled batch of one fill, planning its dozen statements was about a
  third of the transaction (issue 21, docs/decisions.md "Latency a trader feels"). psycopg
  keeps the prepared statements of a connection and the pool reuses connections. Django turns
  psycopg's automatic preparing off (``prepare_threshold=None``) so that connection poolers in
  transaction mode keep working; this project connects directly, through Django's own pool
  (docs/decisions.md). Only statements run through this cursor are prepared: the threshold this
  module sets on a connection is never reached by anything else.

The cursor keeps Django's cursor wrapper: query logging, execute wrappers, error translation
(``IntegrityError`` etc.)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

# Automatic preparing after this many executions of one statement: never, in practice. Only
# ``prepared_cursor``'s explicit ``prepare=True`` prepares (psycopg ignores it while the
# connection's threshold is None).
_ONLY_WHEN_ASKED = 2**62


@contextmanager
def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> Iterator[Any]:
    """A cursor of the connection ``using`` whose ``execute`` prepares the statement (a read
    that may go to the replica passes ``read_alias(Model)``).
    Placeholders ``%s``/``%(name)s``, or ``%b`` (binary), bound on the server: the types must be
    clear from context (columns, casts). A rollback on the connection forgets its prepared
    statements (psycopg), so the next executions prepare again."""
    # Defined only under psycopg 3 (django-stubs don't know it); the project requires it.
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID  # type: ignore[attr-defined]
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection = connections[using]
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    preparing = _preparing_cursor_class()(raw, connection)
    # As Django's create_cursor: timestamps load in the connection's time zone.
    tzloader = raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != tzloader.timezone:
        register_tzloader(connection.timezone, preparing)
    # _prepare_cursor wraps a raw cursor the way connection.cursor() does (not in the stubs).
    with connection._prepare_cursor(preparing) as cursor:  # type: ignore[attr-defined]
        yield cursor


@cache
def _preparing_cursor_class() -> type:
    # Defined only under psycopg 3 (django-stubs don't know it); the project requires psycopg 3.
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class PreparingCursor(ServerBindingCursor):  # type: ignore[misc,valid-type]
        def __init__(self, raw: Any, wrapper: Any) -> None:
            super().__init__(raw)
            self._django_connection = wrapper  # whose query log this feeds

        def execute(
            self,
            query: Any,
            params: Any = None,
            *,
            prepare: bool | None = True,
            binary: bool | None = None,
        ) -> Any:
            result = super().execute(query, params, prepare=prepare, binary=binary)
            if self._query is None and self._django_connection.queries_logged:  # type: ignore[has-type]
                # psycopg records the statement only when it sends its text, not when it runs
                # a prepared one; Django's query log (DEBUG, tests) reads it from there.
                self._query = self._convert_query(query, params)
            return result

    return PreparingCursor
