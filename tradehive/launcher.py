"""``make run``: start every process of the exchange in the foreground until Ctrl-C.

With no ``REDIS_URL`` a bundled redis-server is started on loopback, and with no
``DATABASE_URL`` the embedded PostgreSQL in ``var/pgdata``; both are stopped on exit, after the
processes that use them. Then: migrate, seed demo data, create the
demo admin, and run the ASGI server, Celery worker, Celery beat and the engine's processes. If
any process dies, everything is stopped so the failure is visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path

from tradehive.embedded_postgres import ensure_database_url
from tradehive.embedded_redis import ensure_redis_url

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# The environment every child starts with unless the caller set it. ``make run`` is what people
# expose, so Django's debug pages (settings, local variables) are opt-in: DEBUG=1. Static files
# are served by the ASGI app either way (SERVE_STATIC).
LAUNCH_DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "tradehive.settings.dev",
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "0",
}


def launch_environ_apply(environ: MutableMapping[str, str]) -> None:
    """Fill in ``LAUNCH_DEFAULTS`` where ``environ`` has no value."""
    for name, value in LAUNCH_DEFAULTS.items():
        environ.setdefault(name, value)


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


def process_table(port: int) -> dict[str, list[str]]:
    """Name -> command of every long-running process of the exchange."""
    from django.conf import settings  # read once the environment is final

    var_dir = Path(os.environ.get("TRADEHIVE_VAR_DIR", ROOT / "var"))  # as the settings do
    table = {
        "web": [PYTHON, "-m", "uvicorn", "tradehive.asgi:application", "--host",
                os.environ.get("HOST", "127.0.0.1"), "--port", str(port),
                "--ws-per-message-deflate", "false", "--no-access-log",
                # The peer is the client; X-Forwarded-For counts only from TRUSTED_PROXIES, in
                # the application (tradehive/client_ip.py), never rewritten by uvicorn.
                "--no-proxy-headers",
                # bench/ws.py: the sans-I/O websockets protocol connects 10k clients in half the
                # time with less memory; a larger backlog absorbs reconnect storms.
                "--ws", "websockets-sansio", "--backlog", "4096",
                # A frame past the protocol's largest message closes the connection (1009)
                # instead of being buffered up to uvicorn's default 16 MiB.
                "--ws-max-size", str(settings.WS_MAX_MESSAGE_BYTES)],
        "worker": [PYTHON, "-m", "celery", "-A", "tradehive", "worker", "-P", "threads", "-c", "8",
                   "-l", "warning", "-n", f"worker-{os.getpid()}@%h"],
        # Price feed polls/matching passes (0.25 s / 0.5 s) get their own worker and queue, so
        # slow tasks elsewhere never delay them (docs/feeds.md).
        "feeds": [PYTHON, "-m", "celery", "-A", "tradehive", "worker", "-Q", "feeds", "-P",
                  "threads", "-c", "4", "-l", "warning", "-n", f"feeds-{os.getpid()}@%h"],
        "feeds-match": [PYTHON, "-m", "celery", "-A", "tradehive", "worker", "-Q", "feeds-match",
                        "-P", "threads", "-c", "2", "-l", "warning", "-n",
                        f"feeds-match-{os.getpid()}@%h"],
        "beat": [PYTHON, "-m", "celery", "-A", "tradehive", "beat", "-l", "warning", "-s",
                 str(var_dir / "celerybeat-schedule")],
    }
    # Settlement runs one process per share of the markets (``settle --shard i/n``), so markets
    # settle in parallel; each market's lease still admits one consumer at a time.
    shards = max(1, int(os.environ.get("SETTLE_PROCESSES", "2")))
    for index in range(shards):
        name = "settle" if shards == 1 else f"settle-{index}"
        table[name] = [PYTHON, "manage.py", "settle",
                       *(["--shard", f"{index}/{shards}"] if shards > 1 else [])]
    # The living demo: bots quote and trade the book-priced markets (README "Demo"); DEMO=0 off.
    if os.environ.get("DEMO", "1") != "0":
        table["demo"] = [PYTHON, "manage.py", "simulate_market"]
    return table


def main() -> int:
    launch_environ_apply(os.environ)
    port = int(os.environ.get("PORT", "8000"))
    started = ensure_redis_url()
    print(f"Redis: {os.environ['REDIS_URL']}" + (" (bundled)" if started else ""))
    embedded = ensure_database_url()
    print(f"Database: {os.environ['DATABASE_URL']}" + (" (embedded)" if embedded else ""))

    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")

    children: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in process_table(port).items():
        children[name] = subprocess.Popen(command, cwd=ROOT)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"\nTradeHive is running at http://127.0.0.1:{port}/  (Ctrl-C stops it)\n", flush=True)

    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"process '{name}' exited with {child.returncode}; stopping everything")
                exit_code = 1
                stopping = True
                break
        time.sleep(0.5)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("TradeHive stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
