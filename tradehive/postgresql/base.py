"""Django's PostgreSQL backend (``ENGINE = "tradehive.postgresql"``) whose connection pool
checks a connection before lending it without a round trip when nothing happened to it.

After PostgreSQL restarts every idle pooled connection is dead, and without a check each would
fail one request with a 500 (bench/chaos.py's postgres fault). Django's ``CONN_HEALTH_CHECKS``
installs psycopg_pool's check, an empty query: one round trip to the server before every
request's first query (issue 21: about a tenth of a millisecond at idle, more on a busy box).

An idle pooled connection receives nothing from PostgreSQL unless something happened to it: a
server that restarts or terminates the backend sends its error and closes the socket, which
makes the socket readable. ``connection_check`` asks the socket first and runs psycopg_pool's
round-trip check only when the socket has something to say, so a dead connection is still
found and replaced before it fails a request. What a socket cannot tell is a peer that
vanished without closing (a cut network): the request's query then fails after its timeouts,
as the round-trip check itself would have."""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def connection_check(conn: Any) -> None:
    """Return quietly if ``conn`` looks usable; raise (the pool then replaces it) otherwise."""
    if conn.closed or conn.broken:
        raise ConnectionError("the connection is closed")
    # poll, not select: a web process serving a thousand websockets has descriptors past
    # select's limit of 1024.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        # A notice, a parameter change or the server's goodbye: ask the server.
        ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]  # django-stubs lack it
    @property
    def pool(self) -> ConnectionPool | None:
        """Django's pool, built with ``connection_check`` in place of the round-trip check when
        the settings ask for health checks."""
        made_now = self.alias not in self._connection_pools  # type: ignore[attr-defined]
        pool: ConnectionPool | None = super().pool  # type: ignore[misc]  # not in the stubs
        if made_now and pool is not None and self.settings_dict["CONN_HEALTH_CHECKS"]:
            # Django builds the pool (once per alias and process) with its own check and offers
            # no way to pass another; psycopg_pool keeps it here (pinned version).
            pool._check = connection_check
        return pool
