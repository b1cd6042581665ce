"""Real processes for integration tests: the test database's URL and a process runner.

pytest-django's test database is a real PostgreSQL database, so a
subprocess pointed at it with ``DATABASE_URL`` sees what a ``transaction=True`` test committed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from tradehive.embedded_postgres import socket_url
from tradehive.embedded_redis import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url_of_tests() -> str:
    """A ``DATABASE_URL`` for the current test database (over TCP or a Unix socket)."""
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or "127.0.0.1"
    if host.startswith("/"):
        return socket_url(host, db["NAME"], user=user)
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that uses the test database and Redis."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url_of_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "tradehive.settings.test",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_manage(*args: str, **env: str) -> subprocess.Popen[bytes]:
    """``python manage.py <args>`` on the test database, in the background."""
    # S603: our own interpreter and manage.py with literal arguments from the tests.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=process_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_python(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``code`` in a fresh interpreter with Django set up on the test database."""
    prelude = "import django; django.setup()\n"
    # S603: our own interpreter running code written in the tests.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=process_env(**env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> str:
    """Terminate ``process`` and return what it printed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    out = process.stdout.read() if process.stdout else b""
    return out.decode(errors="replace")


@contextmanager
def live_exchange(**env: str) -> Iterator[str]:
    """The web server (uvicorn on ``tradehive.asgi``) and a ``settle`` process on the test
    database, so orders placed over HTTP match and settle; yields ``host:port`` (a free port).
    What they printed is shown when it holds a traceback (pytest shows it for a failed test)."""
    port = free_port()
    # S603: our own interpreter running uvicorn with literal arguments.
    web = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tradehive.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws-per-message-deflate",
            "false",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=process_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    settler = start_manage("settle", **env)
    address = f"127.0.0.1:{port}"

    def answers() -> bool:
        # An HTTP answer, not only an open port: the first request also loads the URLconf.
        try:
            with urllib.request.urlopen(f"http://{address}/api/v1/markets", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for_port(port, timeout=30)
        wait_until(answers, timeout=30, what="uvicorn to answer")
        yield address
    finally:
        out = stop(settler) + stop(web)
        if "Traceback" in out:
            print(out[-4000:])  # noqa: T201 - shown by pytest only when the test fails
