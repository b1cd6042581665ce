"""``make run``: start every process of the exchange in the foreground until Ctrl-C.

With no ``REDIS_URL`` a bundled redis-server is started on loopback, and with no
``DATABASE_URL`` the embedded PostgreSQL in ``var/pgdata``; both are stopped on exit, after the
processes that use them. Then: migrate, seed demo data, create the
demo admin, and run the ASGI server, Celery worker, Celery beat and the engine's processes. If
any process dies, everything is stopped so the failure is visible.

Ctrl-C (SIGINT to the terminal's process group) and SIGTERM reach only the launcher: children
run in sessions of their own, so none of them (nor the bundled Redis) dies before the processes
that use it. The launcher stops them in ``STOP_ORDER`` and the bundled Redis last."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import MutableMapping
from pathlib import Path

from tradehive.embedded_postgres import ensure_database_url
from tradehive.embedded_redis import ensure_redis_url

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Who stops first: what takes requests and places orders (web, the demo bots), then what
# schedules tasks (beat), the workers running them, settlement, and the bundled Redis after all
# of them (at exit). A name stops with the first entry it starts with (settle-0 with settle).
STOP_ORDER = ("web", "demo", "beat", "worker", "feeds", "settle")
STOP_TIMEOUT_S = 10.0
# Celery's command line for the app; ``--quiet``: no start-up banner from each of the four
# Celery processes (their warnings and errors still show, at ``-l warning``).
CELERY = (PYTHON, "-m", "celery", "--quiet", "-A", "tradehive")

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
    """A set-up command, quiet: its INFO logs (a rebuilt empty book, ...) are routine at start;
    warnings and errors still show. ``LOG_LEVEL`` set by the caller wins."""
    env = {"LOG_LEVEL": "WARNING", **os.environ}
    # Its own session, as the long-running children: a Ctrl-C lets it finish, then stops.
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, start_new_session=True
    )


# Celery warns in every worker that runs as root (a container, CI); said once by the launcher.
CELERY_ROOT_WARNING = "You're running the worker with superuser privileges"


def children_environ() -> dict[str, str]:
    """The long-running children's environment: the launcher's, and as root Celery's warning
    about it filtered (``PYTHONWARNINGS``) after the launcher said it once."""
    env = dict(os.environ)
    if os.geteuid() == 0:
        print("Note: running as root; Celery advises running its workers as a normal user.")
        env["PYTHONWARNINGS"] = ",".join(
            filter(None, [env.get("PYTHONWARNINGS"), f"ignore:{CELERY_ROOT_WARNING}"])
        )
    return env


def answers_http(url: str) -> bool:
    """Whether ``url`` answers HTTP at all (any status: the server is up and routing)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own http:// URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def demo_admin_password() -> str:
    """The demo admin's password as ``seed_demo`` keeps it (``DEMO_ADMIN_PASSWORD_FILE``)."""
    from django.conf import settings  # read once the environment is final

    return Path(settings.DEMO_ADMIN_PASSWORD_FILE).read_text().strip()


def ready_banner(port: int) -> str:
    """What ``make run`` prints once, when the site answers: where it is, how to sign in (the
    logins ``seed_demo`` created) and how to stop it."""
    url = f"http://127.0.0.1:{port}/"
    rule = "=" * 64
    return "\n".join(
        [
            "",
            rule,
            "  TradeHive is running",
            "",
            f"  Exchange:    {url}",
            f"  Admin:       {url}admin/",
            f"  Demo admin:  username admin   password {demo_admin_password()}",
            f"  New trader:  sign up at {url}accounts/signup/",
            "",
            "  Stop:        press Ctrl-C (stops every process)",
            rule,
            "",
        ]
    )


def process_table(port: int) -> dict[str, list[str]]:
    """Name -> command of every long-running process of the exchange."""
    from django.conf import settings  # read once the environment is final

    var_dir = Path(os.environ.get("TRADEHIVE_VAR_DIR", ROOT / "var"))  # as the settings do
    table = {
        "web": [
            PYTHON,
            "-m",
            "uvicorn",
            "tradehive.asgi:application",
            "--host",
            os.environ.get("HOST", "127.0.0.1"),
            "--port",
            str(port),
            "--ws-per-message-deflate",
            "false",
            "--no-access-log",
            # Its start-up lines repeat what the launcher's block says; warnings still show.
            "--log-level",
            "warning",
            # The peer is the client; X-Forwarded-For counts only from TRUSTED_PROXIES, in
            # the application (tradehive/client_ip.py), never rewritten by uvicorn.
            "--no-proxy-headers",
            # bench/ws.py: the sans-I/O websockets protocol connects 10k clients in half the
            # time with less memory; a larger backlog absorbs reconnect storms.
            "--ws",
            "websockets-sansio",
            "--backlog",
            "4096",
            # A frame past the protocol's largest message closes the connection (1009)
            # instead of being buffered up to uvicorn's default 16 MiB.
            "--ws-max-size",
            str(settings.WS_MAX_MESSAGE_BYTES),
        ],
        "worker": [
            *CELERY,
            "worker",
            "-P",
            "threads",
            "-c",
            "8",
            "-l",
            "warning",
            "-n",
            f"worker-{os.getpid()}@%h",
        ],
        # Price feed polls/matching passes (0.25 s / 0.5 s) get their own worker and queue, so
        # slow tasks elsewhere never delay them (docs/feeds.md).
        "feeds": [
            *CELERY,
            "worker",
            "-Q",
            "feeds",
            "-P",
            "threads",
            "-c",
            "4",
            "-l",
            "warning",
            "-n",
            f"feeds-{os.getpid()}@%h",
        ],
        "feeds-match": [
            *CELERY,
            "worker",
            "-Q",
            "feeds-match",
            "-P",
            "threads",
            "-c",
            "2",
            "-l",
            "warning",
            "-n",
            f"feeds-match-{os.getpid()}@%h",
        ],
        "beat": [
            *CELERY,
            "beat",
            "-l",
            "warning",
            "-s",
            str(var_dir / "celerybeat-schedule"),
        ],
    }
    # Settlement runs one process per share of the markets (``settle --shard i/n``), so markets
    # settle in parallel; each market's lease still admits one consumer at a time.
    shards = max(1, int(os.environ.get("SETTLE_PROCESSES", "2")))
    for index in range(shards):
        name = "settle" if shards == 1 else f"settle-{index}"
        table[name] = [
            PYTHON,
            "manage.py",
            "settle",
            *(["--shard", f"{index}/{shards}"] if shards > 1 else []),
        ]
    # The living demo: bots quote and trade the book-priced markets (README "Demo"); DEMO=0 off.
    if os.environ.get("DEMO", "1") != "0":
        table["demo"] = [PYTHON, "manage.py", "simulate_market"]
    return table


def metrics_dir_prepare() -> Path:
    """An empty ``PROMETHEUS_MULTIPROC_DIR`` for every child (``tradehive.metrics``): each
    process writes its samples there and ``/metrics`` merges them. Emptied at each start, as
    prometheus_client requires (files of dead processes would count twice)."""
    var_dir = Path(os.environ.get("TRADEHIVE_VAR_DIR", ROOT / "var"))
    directory = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var_dir / "metrics")))
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def stop_groups(names: list[str]) -> list[list[str]]:
    """``names`` in the order they stop (``STOP_ORDER``; names it does not know come last)."""

    def rank(name: str) -> int:
        return next(
            (index for index, prefix in enumerate(STOP_ORDER) if name.startswith(prefix)),
            len(STOP_ORDER),
        )

    groups: dict[int, list[str]] = {}
    for name in names:
        groups.setdefault(rank(name), []).append(name)
    return [groups[key] for key in sorted(groups)]


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each group of ``stop_groups`` and wait for it (kill after STOP_TIMEOUT_S) before
    the next, so nothing loses Redis or its peers while it is still working."""
    for group in stop_groups(list(children)):
        running = [children[name] for name in group if children[name].poll() is None]
        for child in running:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in running:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def main() -> int:
    launch_environ_apply(os.environ)
    port = int(os.environ.get("PORT", "8000"))

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    # From here on a signal asks for a stop; the setup steps below finish first, quietly.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    started = ensure_redis_url()
    print(f"Redis: {os.environ['REDIS_URL']}" + (" (bundled)" if started else ""))
    embedded = ensure_database_url()
    print(f"Database: {os.environ['DATABASE_URL']}" + (" (embedded)" if embedded else ""))

    metrics_dir_prepare()
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo", "-v", "0")
    manage("seed_copy_demo", "-v", "0")  # the demo trend bot leads, three demo bots copy it
    # Books of markets without engine state (a fresh Redis) are rebuilt here, once, before
    # settlement, the feed passes and the bots would each do it on first touch.
    manage("engine_rebuild", "--missing", "-v", "0")

    children: dict[str, subprocess.Popen[bytes]] = {}
    exit_code = 0
    try:
        if not stopping:
            env = children_environ()
            for name, command in process_table(port).items():
                # Its own session: the terminal's Ctrl-C reaches the launcher only.
                children[name] = subprocess.Popen(
                    command, cwd=ROOT, env=env, start_new_session=True
                )
        announced = False
        while not stopping:
            if not announced and answers_http(f"http://127.0.0.1:{port}/healthz"):
                print(ready_banner(port), flush=True)
                announced = True
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"process '{name}' exited with {child.returncode}; stopping everything")
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.5)
    finally:
        print("Stopping TradeHive...", flush=True)
        stop_children(children)
    print("TradeHive stopped.")
    return exit_code  # the bundled Redis stops at exit, after every process that used it


if __name__ == "__main__":
    sys.exit(main())
