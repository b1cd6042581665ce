"""Throw-away PostgreSQL servers for integration tests: a primary made with ``initdb`` and a
streaming standby of it made with ``pg_basebackup -R``, from a system PostgreSQL's binaries
(Debian's ``/usr/lib/postgresql/<version>/bin``).

Each server lives in its own directory under a temporary root, listens on 127.0.0.1 at the port
it is given, trusts local connections (replication included) and logs to ``server.log`` in its
directory. As root, the binaries run as the ``postgres`` user (PostgreSQL refuses root) and the
directories are handed to it.

    with throwaway_root() as root:
        primary = Server.init(root / "primary", port=7201)
        primary.start()
        standby = primary.standby(root / "standby", port=7202)
        standby.start()
"""

from __future__ import annotations

import copy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradehive.embedded_redis import wait_for_port
from tradehive.testing.services import service_missing

# Replication needs a WAL level that keeps what a standby replays; small buffers, no fsync: a
# test server holds a few megabytes and is thrown away (a crash loses nothing anyone wants).
# synchronous_commit stays on: with it off, WAL reaches the standby only at the WAL writer's
# next round (200 ms), which is not what a production primary does.
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
hot_standby_feedback = on
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
logging_collector = off
"""

HBA = """
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


def bin_dir() -> Path | None:
    """The newest system PostgreSQL's binaries (Debian's layout), if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


def require_bin_dir() -> Path:
    """``bin_dir()``, else a skip (a failure under CI: a missing service is never a skip)."""
    found = bin_dir()
    if found is None:
        service_missing("no system PostgreSQL under /usr/lib/postgresql")
    return found


def free_port_in(first: int, last: int) -> int:
    """A port in [first, last] nothing listens on now (the range a test was given)."""
    for port in range(first, last + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


def _server_user() -> pwd.struct_passwd | None:
    """Whom the binaries run as: ``postgres`` when this process is root, else ourselves."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("postgres")


def _hand_over(path: Path) -> None:
    user = _server_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def run_as_server(
    command: list[str | Path], *, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as the server's user; its output is in the error on failure."""
    user = _server_user()
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries with literal arguments
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=None if user is None else user.pw_uid,
        group=None if user is None else user.pw_gid,
        extra_groups=None if user is None else [],
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


@contextmanager
def throwaway_root() -> Iterator[Path]:
    """A temporary directory the server's user may write in; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="th-pg-"))
    _hand_over(root)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Server:
    """One PostgreSQL server: its data directory and the port it listens on."""

    bin: Path
    data: Path
    port: int

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    def url(self, database: str = "postgres", **query: str) -> str:
        tail = "&".join(f"{key}={value}" for key, value in query.items())
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}" + (
            f"?{tail}" if tail else ""
        )

    @classmethod
    def init(cls, data: Path, *, port: int, bin: Path | None = None) -> Server:
        """A new primary cluster in ``data`` (not started), ready to be replicated."""
        server = cls(bin=bin or require_bin_dir(), data=data, port=port)
        run_as_server(
            [
                server.bin / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        (data / "postgresql.auto.conf").write_text(
            PRIMARY_CONF.format(port=port, socket_dir=data.parent)
        )
        (data / "pg_hba.conf").write_text(HBA)
        return server

    def standby(self, data: Path, *, port: int) -> Server:
        """A streaming standby of this (running) server in ``data``, not started:
        ``pg_basebackup -R`` writes ``standby.signal`` and ``primary_conninfo``."""
        run_as_server(
            [
                self.bin / "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-D",
                data,
                "-X",
                "stream",
                "-R",
                "--no-sync",
                "-c",
                "fast",
            ]
        )
        auto = data / "postgresql.auto.conf"
        # The copy's settings are the primary's but for its port (appended last: it wins).
        auto.write_text(auto.read_text() + f"\nport = {port}\n")
        return Server(bin=self.bin, data=data, port=port)

    def start(self, timeout: float = 20) -> None:
        run_as_server(
            [
                self.bin / "pg_ctl",
                "-D",
                self.data,
                "-l",
                self.log,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 5,
        )
        wait_for_port(self.port, timeout=timeout)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        run_as_server([self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """One statement's rows as psql prints them unaligned (``-At``)."""
        done = run_as_server(
            [
                self.bin / "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ]
        )
        return done.stdout.strip()

    def wait_replayed(
        self, primary: Server, database: str = "postgres", timeout: float = 20
    ) -> None:
        """Wait until this standby has replayed everything ``primary`` has written so far."""
        target = primary.psql("SELECT pg_current_wal_lsn()", database)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            caught_up = self.psql(
                f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", database
            )
            if caught_up == "t":
                return
            time.sleep(0.05)
        raise AssertionError(f"the standby did not replay up to {target} in {timeout}s")


def alias_settings(**changes: Any) -> dict[str, Any]:
    """The test database's settings (``connections.settings["default"]``, the test database's
    name included) with ``changes``; ``OPTIONS`` is merged, not replaced."""
    from django.db import connections

    base = copy.deepcopy(connections.settings["default"])
    options = {**base.get("OPTIONS", {}), **changes.pop("OPTIONS", {})}
    return {**base, **changes, "OPTIONS": options}


@contextmanager
def connection_added(alias: str, settings_dict: dict[str, Any]) -> Iterator[None]:
    """A real connection under ``alias`` in ``django.db.connections`` for this thread, made
    from ``settings_dict`` (complete, as ``alias_settings`` makes it) and left out of
    ``settings.DATABASES``: Django's test cases allow such dynamically made connections
    whatever their ``databases``. Its connection and pool are closed afterwards."""
    from django.db import connections
    from django.db.utils import load_backend

    backend = load_backend(settings_dict["ENGINE"])
    connections[alias] = backend.DatabaseWrapper(settings_dict, alias)
    try:
        yield
    finally:
        connection = connections[alias]
        with suppress(Exception):  # a server that is gone: nothing left to close
            connection.close()
        if settings_dict.get("OPTIONS", {}).get("pool"):
            with suppress(Exception):
                connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL backend
        del connections[alias]


def direct_connect_kwargs() -> dict[str, Any]:
    """``psycopg.connect`` keyword arguments for a connection of its own to the test database,
    outside Django and its pool (Django's connection parameters without its adapters
    ``context``)."""
    from django.db import connection

    return {k: v for k, v in connection.get_connection_params().items() if k != "context"}
