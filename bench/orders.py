"""Order placement and settlement through the real server, against the stack's own ceiling.

Usage: ``.venv/bin/python bench/orders.py [--seconds 15] [--concurrency 32] [--workers 1,2]
[--users 200] [--profile] [--no-record]``.

Own stores only: PostgreSQL ``TH_BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/th_bench_orders``; created and migrated when missing, every
app table emptied at start: never point it at real data) and Redis ``TH_BENCH_REDIS_URL``
(default ``redis://127.0.0.1:6379/9``; FLUSHDB of that one db at start). Traffic: 127.0.0.1 only.

1. Seeds the assets and demo markets, ``--users`` users (JWT access tokens, large balances);
   trades LPJ-KRW and BTC-USDT (both book-priced).
2. Starts ``manage.py settle`` (the real settlement consumer) and, for each ``--workers`` count,
   uvicorn ``tradehive.asgi:application`` with ``TRADEHIVE_BENCH_ENDPOINTS=1``.
3. Per worker count, ``--concurrency`` keep-alive HTTP/1.1 clients (asyncio, one connection each,
   Bearer JWT) run for ``--seconds`` (after a warm-up):
   - placement: POST /api/v1/orders, 70 % makers (GTC limits 1-20 ticks off a fixed mid),
     30 % takers (2/3 IOC limits through the book, 1/3 market orders) of about 3x a maker's size;
   - ceiling: POST /api/v1/bench/insert (``tradehive/bench_views.py``): default DRF JWT auth +
     one INSERT, same bodies, same clients.
   While these run the settlement consumer is paused (the bench holds each market's settlement
   lease), so placement and ceiling see the same idle machine and a backlog builds up.
4. Settlement: ``--backlog-seconds`` more placement (not measured) grows the backlog, then the
   leases are released and the ``--settle-processes`` consumers (``settle --shard i/n``, as
   ``make run`` starts them) drain it; fills settled per second = engine fills (one ``Trade``,
   two ``orders_fill`` rows each) / wall time from the release to an empty backlog.
5. Live: placement again with the best worker count while settlement runs alongside.
Prints a markdown table, appends it (dated) under the heading in docs/benchmarks.md, ends with
``RESULT order_place_per_s <value> orders/s`` (best worker count, same conditions as the ceiling).
``--profile`` then profiles in process (no server): cProfile + queries of one order placement
through the full DRF view and of ``order_place`` alone, and of ``settle_events`` per fill."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import postgres_database_ensure  # noqa: E402

PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/th_bench_orders"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DATABASE_URL = os.environ.get("TH_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
REDIS_URL = os.environ.get("TH_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
# This process and every child use only the bench stores, whatever the shell exported.
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["REDIS_URL"] = REDIS_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "tradehive.settings.base"  # DEBUG off: no query log
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
os.environ["JWT_ACCESS_MINUTES"] = "240"
os.environ.setdefault("LOG_LEVEL", "WARNING")
HEADING = "## Orders and settlement (bench/orders.py)"
SYMBOLS = ("LPJ-KRW", "BTC-USDT")
ORDERS_PATH = "/api/v1/orders"
CEILING_PATH = "/api/v1/bench/insert"
WARMUP_S = 3.0
REQUEST_TIMEOUT_S = 30.0


# --- setup -----------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", None):
        sys.exit("bench/orders.py only talks to 127.0.0.1")
    postgres_database_ensure(url)


def reset_database() -> None:
    """Empty every table of the bench database but Django's bookkeeping ones."""
    from django.db import connection

    keep = {"django_migrations", "django_content_type", "auth_permission"}
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_ping (id bigserial PRIMARY KEY,"
            " user_id bigint NOT NULL, symbol varchar(21) NOT NULL,"
            " created_at timestamptz NOT NULL)"
        )
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cursor.fetchall() if name not in keep]
        cursor.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )


def redis_client():  # redis.Redis, imported late
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    host = client.connection_pool.connection_kwargs.get("host")
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("bench/orders.py only talks to 127.0.0.1")
    return client


@dataclass
class Seeded:
    tokens: list[str]
    user_ids: list[int]


def seed(users: int) -> Seeded:
    from django.test.utils import override_settings

    from accounts.services import token_pair_issue, user_create
    from markets.services import pair_seed_defaults
    from settlement.recovery import engine_recover
    from settlement.services import settlement_group_ensure
    from tradehive.redis_client import get_redis
    from wallets.models import Asset
    from wallets.seed import asset_seed_defaults
    from wallets.services import wallet_account_get, wallet_credit

    asset_seed_defaults()
    pairs = {p.symbol: p for p in pair_seed_defaults()}
    assets = {a.symbol: a for a in Asset.objects.all()}
    grants = {
        "KRW": Decimal("100000000000"),
        "LPJ": Decimal("10000000"),
        "USDT": Decimal("1000000000"),
        "BTC": Decimal("1000"),
    }
    tokens, user_ids = [], []
    # Users sign in with JWTs only here: a fast hasher keeps seeding quick (the server never
    # checks these passwords; the JWT carries a hash of whatever hash is stored).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for i in range(users):
            user = user_create(
                username=f"bench{i:04d}",
                email=f"bench{i:04d}@bench.invalid",
                password=secrets.token_urlsafe(12),
            )
            account = wallet_account_get(user=user)
            for symbol, amount in grants.items():
                wallet_credit(
                    account=account,
                    asset=assets[symbol],
                    amount=amount,
                    reference=f"bench:{user.pk}:{symbol}",
                )
            tokens.append(token_pair_issue(user=user)["access"])
            user_ids.append(user.pk)
    client = get_redis()
    for symbol in SYMBOLS:
        settlement_group_ensure(client, symbol)
        engine_recover(pair=pairs[symbol])
    return Seeded(tokens=tokens, user_ids=user_ids)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SETTINGS_OVERLAY = '''"""Generated by bench/orders.py (temporary directory, not in the repo)."""
from tradehive.settings.base import *  # noqa: F403
from tradehive.settings.base import DATABASES

# Under ASGI every request runs its sync view in a fresh thread (asgiref ThreadSensitiveContext),
# so a persistent connection (CONN_MAX_AGE=60) is never reused: it lingers until garbage
# collection and PostgreSQL runs out of connection slots under load. Close at request end.
DATABASES["default"]["CONN_MAX_AGE"] = 0
'''
CHILD_SETTINGS: dict[str, str] = {}
# gunicorn threads per worker: enough requests in flight to overlap PostgreSQL and Redis round
# trips, within the per-process connection pool (DB_POOL_MAX, 10).
WSGI_THREADS = 8


def use_settings_overlay(logdir: Path) -> None:
    (logdir / "th_bench_settings.py").write_text(SETTINGS_OVERLAY)
    CHILD_SETTINGS.update(DJANGO_SETTINGS_MODULE="th_bench_settings", PYTHONPATH=str(logdir))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        TRADEHIVE_BENCH_ENDPOINTS="1",
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONUNBUFFERED="1",
        DEBUG="0",
        **CHILD_SETTINGS,
    )
    # Every client of the benchmark shares one address and places far more than a user's
    # order budget: the budgets stay on (their Redis call is part of the cost measured) but out
    # of reach.
    env.update(
        RATE_LIMIT_IP_WEIGHT_PER_MINUTE="1000000000",
        RATE_LIMIT_USER_WEIGHT_PER_MINUTE="1000000000",
        RATE_LIMIT_USER_ORDERS_PER_10S="1000000000",
    )
    return env


class Proc:
    """A child process we started; stopped by its own pid only."""

    def __init__(self, name: str, command: list[str], logdir: Path) -> None:
        self.name = name
        self.log = logdir / f"{name}.log"
        self.handle = subprocess.Popen(  # noqa: S603 - our own binary and literal arguments
            command,
            cwd=ROOT,
            env=child_env(),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.handle.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its descendants (uvicorn's workers)."""
        import psutil

        try:
            root = psutil.Process(self.handle.pid)
            total = 0.0
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
            return total
        except psutil.Error:
            return 0.0

    def stop(self) -> None:
        if self.alive():
            self.handle.send_signal(signal.SIGTERM)
            try:
                self.handle.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.handle.kill()
                self.handle.wait(timeout=5)

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""


def start_server(workers: int, port: int, logdir: Path, *, http: str = "asgi") -> Proc:
    """The web tier on ``port``: uvicorn (ASGI: HTTP and websockets, ``http="asgi"``), or
    gunicorn's threaded workers on the WSGI application (``http="wsgi"``: HTTP only, the
    websockets then need their own uvicorn)."""
    if http == "wsgi":
        command = [
            *(PYTHON, "-m", "gunicorn", "tradehive.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
            *("--worker-class", "gthread", "--threads", str(WSGI_THREADS)),
            *("--log-level", "warning", "--keep-alive", "75"),
        ]  # fmt: skip
        name = f"gunicorn-w{workers}"
    else:
        command = [
            *(PYTHON, "-m", "uvicorn", "tradehive.asgi:application"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--no-access-log", "--log-level", "warning", "--ws-per-message-deflate", "false"),
        ]  # fmt: skip
        name = f"uvicorn-w{workers}"
    proc = Proc(name, command, logdir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            sys.exit(f"{name} exited:\n{proc.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(
                    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    # with several workers, give the others a moment to finish importing
                    time.sleep(1.0 if workers > 1 else 0.2)
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.stop()
    sys.exit(f"{name} did not answer /healthz in 60 s:\n{proc.tail()}")


# --- the HTTP load ---------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: a lean client so the load generator, which shares
    the 2 cores with the server, costs as little CPU as possible."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            payload = b"".join(p[:-2] for p in parts)
        else:
            payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class OrderFlow:
    """Random orders: 70 % makers near a fixed mid, 30 % takers crossing it."""

    MARKETS = {
        # symbol: (mid, tick, lot, decimals of quantity)
        "LPJ-KRW": (Decimal(10000), Decimal(1), Decimal(1), 0),
        "BTC-USDT": (Decimal("60000.00"), Decimal("0.01"), Decimal("0.0001"), 4),
    }

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def body(self) -> dict[str, object]:
        rng = self.rng
        symbol = SYMBOLS[rng.random() < 0.5]
        mid, tick, lot, _ = self.MARKETS[symbol]
        side = "buy" if rng.random() < 0.5 else "sell"
        roll = rng.random()
        if roll < 0.70:
            lots = rng.randint(1, 5) * (1 if lot == 1 else 10)
            offset = rng.randint(1, 20) * tick
            price = mid - offset if side == "buy" else mid + offset
            return {
                "symbol": symbol,
                "side": side,
                "type": "limit",
                "price": f"{price}",
                "quantity": f"{lots * lot}",
            }
        lots = rng.randint(5, 15) * (1 if lot == 1 else 10)
        if roll < 0.90:
            price = mid + 40 * tick if side == "buy" else mid - 40 * tick
            return {
                "symbol": symbol,
                "side": side,
                "type": "limit",
                "time_in_force": "IOC",
                "price": f"{price}",
                "quantity": f"{lots * lot}",
            }
        return {"symbol": symbol, "side": side, "type": "market", "quantity": f"{lots * lot}"}


@dataclass
class LoadResult:
    label: str
    path: str
    workers: int
    concurrency: int
    seconds: float = 0.0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    machine_busy: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        values = sorted(self.latencies_ms)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    @property
    def server_cpu_ms_per_req(self) -> float:
        return 1000 * self.server_cpu_s / self.ok if self.ok else float("nan")


def machine_busy_snapshot() -> tuple[float, float]:
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle, sum(times)


async def drive(
    *,
    port: int,
    path: str,
    tokens: list[str],
    concurrency: int,
    seconds: float,
    warmup_s: float,
    seed: int,
    result: LoadResult,
    server: Proc,
) -> None:
    """``concurrency`` clients, each a loop on its own connection, for warm-up + ``seconds``.
    Only requests started and finished inside the measured window count."""
    rng = random.Random(seed)
    flows = [OrderFlow(seed * 1000 + i) for i in range(concurrency)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup_s
    end = measure_from + seconds
    marks: dict[str, object] = {}

    async def client(index: int) -> None:
        conn = Connection(port)
        flow = flows[index]
        try:
            while True:
                now = loop.time()
                if now >= end:
                    return
                if now >= measure_from and "cpu" not in marks:
                    marks["cpu"] = (
                        server.cpu_seconds(),
                        time.process_time(),
                        machine_busy_snapshot(),
                    )
                body = json.dumps(flow.body()).encode()
                token = tokens[rng.randrange(len(tokens))]
                began = loop.time()
                try:
                    status, payload = await asyncio.wait_for(
                        conn.post(path, token, body), REQUEST_TIMEOUT_S
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    status, payload = -1, type(exc).__name__.encode()
                finished = loop.time()
                if began < measure_from or finished > end:
                    continue
                if status == 201:
                    result.ok += 1
                    result.latencies_ms.append((finished - began) * 1000)
                else:
                    try:
                        code = json.loads(payload).get("error", {}).get("code", "")
                    except (ValueError, AttributeError):
                        code = payload[:40].decode(errors="replace")
                    key = f"{status} {code}".strip()
                    result.errors[key] = result.errors.get(key, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    if "cpu" in marks:
        server0, client0, (busy0, total0) = marks["cpu"]  # type: ignore[misc]
        busy1, total1 = machine_busy_snapshot()
        result.server_cpu_s = server.cpu_seconds() - server0
        result.client_cpu_s = time.process_time() - client0
        result.machine_busy = (busy1 - busy0) / max(1e-9, total1 - total0)
    result.seconds = seconds


def run_load(
    label: str,
    path: str,
    *,
    workers: int,
    server: Proc,
    port: int,
    tokens: list[str],
    concurrency: int,
    seconds: float,
    seed: int,
) -> LoadResult:
    result = LoadResult(label=label, path=path, workers=workers, concurrency=concurrency)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    runner(
        drive(
            port=port,
            path=path,
            tokens=tokens,
            concurrency=concurrency,
            seconds=seconds,
            warmup_s=WARMUP_S,
            seed=seed,
            result=result,
            server=server,
        )
    )
    print(
        f"  {label:<34} {result.rate:8.1f} req/s  p50 {result.pct(0.50):6.1f} ms  "
        f"p99 {result.pct(0.99):6.1f} ms  server CPU {result.server_cpu_ms_per_req:5.2f} ms/req"
        f"  machine busy {100 * result.machine_busy:3.0f} %  errors {result.errors or 0}",
        flush=True,
    )
    return result


# --- settlement ------------------------------------------------------------------------------


def settlement_state() -> tuple[int, int, int]:
    """(engine events not yet applied, settled trades, engine seq total) over the bench markets."""
    from engine.keys import seq_key
    from markets.models import Trade
    from settlement.models import MarketCursor

    client = redis_client()
    engine_seq = sum(int(client.get(seq_key(symbol)) or 0) for symbol in SYMBOLS)
    applied = sum(
        MarketCursor.objects.filter(pair__symbol__in=SYMBOLS).values_list("last_seq", flat=True)
    )
    return engine_seq - applied, Trade.objects.filter(pair__symbol__in=SYMBOLS).count(), engine_seq


def backlog_remaining(client) -> int:  # type: ignore[no-untyped-def]
    """Engine events not yet applied: the drain's poll, kept light (one Redis MGET on one
    connection, one small query) so measuring disturbs the consumers as little as possible."""
    from engine.keys import seq_key
    from settlement.models import MarketCursor

    engine_seq = sum(int(seq or 0) for seq in client.mget([seq_key(s) for s in SYMBOLS]))
    applied = sum(
        MarketCursor.objects.filter(pair__symbol__in=SYMBOLS).values_list("last_seq", flat=True)
    )
    return engine_seq - applied


@dataclass
class DrainResult:
    events: int = 0
    fills: int = 0
    seconds: float = 0.0
    complete: bool = False
    settle_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0
    machine_busy_s: float = 0.0  # CPU-seconds of every process on the machine

    @property
    def fills_per_s(self) -> float:
        return self.fills / self.seconds if self.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class SettleProcs:
    """The ``settle --shard i/n`` processes (one without ``--shard`` when n is 1), as one."""

    def __init__(self, count: int, logdir: Path) -> None:
        self.procs = [
            Proc(
                f"settle{i}",
                [
                    PYTHON,
                    "manage.py",
                    "settle",
                    *(["--shard", f"{i}/{count}"] if count > 1 else []),
                ],
                logdir,
            )
            for i in range(count)
        ]

    def alive(self) -> bool:
        return all(proc.alive() for proc in self.procs)

    def cpu_seconds(self) -> float:
        return sum(proc.cpu_seconds() for proc in self.procs)

    def tail(self) -> str:
        return "\n".join(f"--- {proc.name}\n{proc.tail()}" for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


def postgres_cpu_seconds() -> float:
    """User + system CPU of the PostgreSQL backends serving the bench database."""
    import psutil

    name = urlparse(DATABASE_URL).path.lstrip("/")
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        try:
            title = " ".join(proc.info["cmdline"] or [])  # "postgres: 15/main: user db ..."
            if title.startswith("postgres:") and f" {name} " in title:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def drain(settle: SettleProcs, leases: list, timeout_s: float = 600.0) -> DrainResult:  # type: ignore[type-arg]
    """Release the settlement leases and time the consumers until every engine event is
    applied: wall time from the release to an empty backlog (polled every 20 ms)."""
    from django.db import close_old_connections

    close_old_connections()
    backlog, fills0, _ = settlement_state()
    cpu0 = settle.cpu_seconds()
    pg0 = postgres_cpu_seconds()
    busy0, _ = machine_busy_snapshot()
    client = redis_client()
    started = time.perf_counter()
    for lease in leases:
        lease.release()
    result = DrainResult(events=backlog)
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        remaining = backlog_remaining(client)
        if remaining <= 0:
            result.complete = True
            break
        if not settle.alive():
            print(f"settlement process died:\n{settle.tail()}")
            break
        time.sleep(0.02)
    result.seconds = time.perf_counter() - started
    result.fills = settlement_state()[1] - fills0
    result.settle_cpu_s = settle.cpu_seconds() - cpu0
    result.postgres_cpu_s = postgres_cpu_seconds() - pg0
    result.machine_busy_s = machine_busy_snapshot()[0] - busy0
    return result


def hold_leases() -> list:  # type: ignore[type-arg]
    """Take every bench market's settlement lease (the one ``settle_market`` takes without
    blocking): the consumer keeps running but skips those markets until released."""
    from settlement.services import LEASE_SECONDS  # noqa: F401 - the lease this mirrors

    client = redis_client()
    leases = []
    for symbol in SYMBOLS:
        lease = client.lock(f"settle-lease:{{{symbol}}}", timeout=1800, blocking_timeout=30)
        if not lease.acquire():
            sys.exit(f"could not take the settlement lease of {symbol}")
        leases.append(lease)
    return leases


# --- profile ---------------------------------------------------------------------------------


def profile(tokens: list[str], user_ids: list[int], count: int = 200) -> None:
    """In process, no server: the view path, the service alone, and settlement per fill."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from engine import events as ev
    from engine.keys import events_key
    from markets.models import TradingPair
    from orders.services import order_place
    from settlement.services import GROUP, settle_events

    client = redis_client()
    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))

    def report(title: str, prof: cProfile.Profile, per: int, wall: float, queries: list) -> None:  # type: ignore[type-arg]
        print(
            f"\n### {title}: {1000 * wall / per:.2f} ms wall per unit, "
            f"{len(queries) / per:.1f} queries per unit"
        )
        kinds: dict[str, int] = {}
        for query in queries:
            sql = query["sql"]
            head = " ".join(sql.split()[:4])[:70]
            kinds[head] = kinds.get(head, 0) + 1
        for head, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:14]:
            print(f"  {n / per:5.2f} x  {head}")
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(28)
        print(out.getvalue()[-6000:])

    flow = OrderFlow(424242)
    # 1. The full request path (DRF view, JWT auth, serializers, order_place, response).
    web = Client(HTTP_HOST="127.0.0.1")
    bodies = [json.dumps(flow.body()) for _ in range(count)]
    for body in bodies[:20]:  # warm-up
        web.post(
            ORDERS_PATH,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[0]}",
        )
    prof = cProfile.Profile()
    statuses: dict[int, int] = {}
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        prof.enable()
        for i, body in enumerate(bodies):
            answer = web.post(
                ORDERS_PATH,
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[i % len(tokens)]}",
            )
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        prof.disable()
        wall = time.perf_counter() - started
    report(
        f"POST /api/v1/orders in process (WSGI test client; statuses {statuses})",
        prof,
        count,
        wall,
        captured.captured_queries,
    )

    # 2. order_place alone (plus its after-commit engine submit).
    prof = cProfile.Profile()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        prof.enable()
        for i in range(count):
            body = flow.body()
            kwargs = {k: (Decimal(v) if k in ("price", "quantity") else v) for k, v in body.items()}
            try:
                order_place(user=users[i % len(users)], **kwargs)  # type: ignore[arg-type]
            except Exception as exc:  # report and go on
                print("  order_place:", type(exc).__name__, exc)
        prof.disable()
        wall = time.perf_counter() - started
    report("order_place in process", prof, count, wall, captured.captured_queries)

    # 3. settle_events on what those orders produced, batches of up to 1000 events.
    prof = cProfile.Profile()
    fills = 0
    wall = 0.0
    with CaptureQueriesContext(connection) as captured:
        for symbol in SYMBOLS:
            pair = TradingPair.objects.select_related("base", "quote").get(symbol=symbol)
            for _ in range(100):
                answer = client.xreadgroup(
                    GROUP, "bench-profile", {events_key(symbol): ">"}, count=1000
                )
                entries = answer[0][1] if answer else []
                if not entries:
                    break
                events = [e for _, fields in entries for e in ev.parse_entry(fields)]
                started = time.perf_counter()
                prof.enable()
                outcome = settle_events(pair=pair, events=events)
                prof.disable()
                wall += time.perf_counter() - started
                client.xack(events_key(symbol), GROUP, *[entry_id for entry_id, _ in entries])
                fills += outcome.fills
    if fills:
        report(
            f"settle_events per fill ({fills} fills)", prof, fills, wall, captured.captured_queries
        )


# --- output ----------------------------------------------------------------------------------


def machine_notes() -> str:
    import platform

    import django
    import psycopg

    client = redis_client()
    with psycopg.connect(DATABASE_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {pg}, Redis {client.info('server')['redis_version']}, "
        f"{os.cpu_count()} CPUs; client, server, settlement, PostgreSQL and Redis share them"
    )


def record(block: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if HEADING in text:
        head, _, rest = text.partition(HEADING)
        following = rest.find("\n## ")
        section, tail = (rest[:following], rest[following:]) if following >= 0 else (rest, "")
        text = head + HEADING + section.rstrip("\n") + "\n\n" + block + "\n" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + HEADING + "\n\n" + block + "\n"
    path.write_text(text)


def fmt(value: float, places: int = 1) -> str:
    return f"{value:,.{places}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="web worker counts to compare")
    parser.add_argument(
        "--http",
        choices=("asgi", "wsgi"),
        default="asgi",
        help="the HTTP server: uvicorn (asgi, as make run) or gunicorn (wsgi, as compose)",
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="then profile in process")
    parser.add_argument("--no-record", action="store_true", help="do not edit benchmarks.md")
    parser.add_argument(
        "--settle-processes",
        type=int,
        default=2,
        help="settle processes (settle --shard i/n), as make run starts them",
    )
    parser.add_argument(
        "--backlog-seconds",
        type=float,
        default=20.0,
        help="extra placement (not measured) with settlement paused, so the "
        "drain has a larger backlog and a steadier rate",
    )
    parser.add_argument("--profile-only", action="store_true", help="seed, profile, no server")
    parser.add_argument(
        "--as-configured",
        action="store_true",
        help="children use tradehive.settings.base unchanged (CONN_MAX_AGE=60: "
        "under ASGI this leaks a PostgreSQL connection per request)",
    )
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if not worker_counts or any(not 1 <= w <= 4 for w in worker_counts):
        sys.exit("--workers: 1 to 4, comma separated")
    if not 1 <= args.concurrency <= 256 or not 1 <= args.seconds <= 300:
        sys.exit("--concurrency 1..256, --seconds 1..300")

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections

    print(f"database {DATABASE_URL}, redis {REDIS_URL}", flush=True)
    call_command("migrate", verbosity=0, skip_checks=True)
    reset_database()
    redis_client().flushdb()  # the bench's own db only
    started = time.perf_counter()
    seeded = seed(args.users)
    print(f"seeded {args.users} users in {time.perf_counter() - started:.1f} s", flush=True)
    if args.profile_only:
        profile(seeded.tokens, seeded.user_ids)
        return

    logdir = Path(tempfile.mkdtemp(prefix="th_bench_orders_"))
    if not args.as_configured:
        use_settings_overlay(logdir)
    load_before = os.getloadavg()
    settle = SettleProcs(args.settle_processes, logdir)
    procs: list[Proc | SettleProcs] = [settle]
    results: list[LoadResult] = []
    live: LoadResult | None = None
    live_settled = (0, 0.0, 0)
    try:
        time.sleep(3)  # the consumer imports Django, ensures groups, checks engine state
        if not settle.alive():
            sys.exit(f"settle exited:\n{settle.tail()}")
        leases = hold_leases()
        for n, workers in enumerate(worker_counts):
            port = free_port()
            server = start_server(workers, port, logdir, http=args.http)
            procs.append(server)
            print(
                f"{server.name} (pid {server.handle.pid}), {args.concurrency} clients:",
                flush=True,
            )
            for label, path in (
                ("placement POST /api/v1/orders", ORDERS_PATH),
                ("ceiling POST /api/v1/bench/insert", CEILING_PATH),
            ):
                results.append(
                    run_load(
                        label,
                        path,
                        workers=workers,
                        server=server,
                        port=port,
                        tokens=seeded.tokens,
                        concurrency=args.concurrency,
                        seconds=args.seconds,
                        seed=100 * n + len(results),
                    )
                )
            if n == 0 and args.backlog_seconds > 0:
                run_load(
                    "backlog (not measured)",
                    ORDERS_PATH,
                    workers=workers,
                    server=server,
                    port=port,
                    tokens=seeded.tokens,
                    concurrency=args.concurrency,
                    seconds=args.backlog_seconds,
                    seed=777,
                )
            server.stop()
        close_old_connections()
        print("settlement: releasing the leases, draining the backlog ...", flush=True)
        drained = drain(settle, leases)
        print(
            f"  {drained.fills} fills ({drained.events} events) in {drained.seconds:.2f} s: "
            f"{drained.fills_per_s:,.0f} fills/s, {drained.events_per_s:,.0f} events/s, "
            f"settle CPU {1000 * drained.settle_cpu_s / max(1, drained.fills):.2f} ms/fill "
            f"({args.settle_processes} processes), PostgreSQL CPU "
            f"{1000 * drained.postgres_cpu_s / max(1, drained.fills):.2f} ms/fill; machine "
            f"busy {drained.machine_busy_s:.2f} CPU-s of "
            f"{(os.cpu_count() or 1) * drained.seconds:.2f}, "
            f"{drained.machine_busy_s - drained.settle_cpu_s - drained.postgres_cpu_s:.2f} "
            f"outside settle + PostgreSQL" + ("" if drained.complete else " (NOT complete)"),
            flush=True,
        )

        placements = [r for r in results if r.path == ORDERS_PATH]
        best = max(placements, key=lambda r: r.rate)
        port = free_port()
        server = start_server(best.workers, port, logdir, http=args.http)
        procs.append(server)
        close_old_connections()
        _, fills0, _ = settlement_state()
        t0 = time.perf_counter()
        live = run_load(
            "placement, settlement running",
            ORDERS_PATH,
            workers=best.workers,
            server=server,
            port=port,
            tokens=seeded.tokens,
            concurrency=args.concurrency,
            seconds=args.seconds,
            seed=999,
        )
        close_old_connections()
        lag, fills1, _ = settlement_state()
        live_settled = (fills1 - fills0, time.perf_counter() - t0, lag)
        server.stop()
        tail = drain(settle, [])
        print(
            f"  settled alongside: {fills1 - fills0} fills in {live_settled[1]:.1f} s "
            f"(incl. warm-up), backlog at the end {lag} events, drained in "
            f"{tail.seconds:.2f} s",
            flush=True,
        )
    finally:
        for proc in procs:
            proc.stop()

    by_workers = {w: {r.path: r for r in results if r.workers == w} for w in worker_counts}
    best_w = max(worker_counts, key=lambda w: by_workers[w][ORDERS_PATH].rate)
    place, ceil = by_workers[best_w][ORDERS_PATH], by_workers[best_w][CEILING_PATH]
    ratio = place.rate / ceil.rate if ceil.rate else 0.0
    rows = [
        "| run | workers | req/s | p50 ms | p99 ms | server CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in [*results, *([live] if live else [])]:
        label = r.label.replace(" POST", "").replace("ceiling", "ceiling (JWT + 1 INSERT)")
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "0"
        rows.append(
            f"| {label} | {r.workers} | {fmt(r.rate)} | {fmt(r.pct(0.5))} | "
            f"{fmt(r.pct(0.99))} | {fmt(r.server_cpu_ms_per_req, 2)} | {errors} |"
        )
    summary = [
        "| measure | value | goal |",
        "|---|---:|---|",
        f"| placement orders/s ({best_w} worker{'s' if best_w > 1 else ''}) | {fmt(place.rate)} "
        f"(p50 {fmt(place.pct(0.5))} ms, p99 {fmt(place.pct(0.99))} ms) | |",
        f"| ceiling req/s, same workers | {fmt(ceil.rate)} (p50 {fmt(ceil.pct(0.5))} ms, "
        f"p99 {fmt(ceil.pct(0.99))} ms) | |",
        f"| ratio placement / ceiling | {ratio:.2f} | >= 0.70 "
        f"{'met' if ratio >= 0.7 else 'MISSED'} |",
        f"| settlement fills/s (drain of {drained.fills:,} fills, {drained.events:,} events, "
        f"{args.settle_processes} settle process{'es' if args.settle_processes > 1 else ''}) | "
        f"{fmt(drained.fills_per_s, 0)} ({fmt(drained.events_per_s, 0)} events/s; CPU per "
        f"fill: settle {fmt(1000 * drained.settle_cpu_s / max(1, drained.fills), 2)} ms, "
        f"PostgreSQL {fmt(1000 * drained.postgres_cpu_s / max(1, drained.fills), 2)} ms; "
        f"{fmt(drained.machine_busy_s - drained.settle_cpu_s - drained.postgres_cpu_s, 2)} "
        f"CPU-s of {fmt(drained.machine_busy_s, 2)} busy went to other processes) | "
        f">= 3,000 {'met' if drained.fills_per_s >= 3000 else 'MISSED'} |",
    ]
    if live:
        summary.append(
            f"| placement with settlement running | {fmt(live.rate)} orders/s, "
            f"{live_settled[0]:,} fills settled meanwhile, backlog at end "
            f"{live_settled[2]:,} events | |"
        )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    settings_note = (
        "tradehive.settings.base unchanged"
        if args.as_configured
        else "tradehive.settings.base with CONN_MAX_AGE=0 (60 leaks a PostgreSQL "
        "connection per request under ASGI)"
    )
    load_after = os.getloadavg()
    notes = (
        f"Run {now}; {machine_notes()}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (other work on the machine shares the cores). "
        f"uvicorn (uvloop, httptools) "
        f"`tradehive.asgi:application`, {settings_note} (DEBUG off), {args.users} users, "
        f"{args.concurrency} keep-alive HTTP/1.1 clients (asyncio, one process), "
        f"{args.seconds:g} s measured per run after {WARMUP_S:g} s warm-up; LPJ-KRW and "
        f"BTC-USDT, 70 % GTC makers, 20 % IOC limit takers, 10 % market takers. Placement "
        f"and ceiling ran with settlement paused (the markets' leases held)"
        + (
            f", then {args.backlog_seconds:g} s more placement (not measured) grew the backlog"
            if args.backlog_seconds > 0
            else ""
        )
        + f"; then {args.settle_processes} settle process"
        f"{'es (settle --shard i/n)' if args.settle_processes > 1 else ''} drained it "
        f"alone: settlement fills/s = engine fills applied (a fill = one Trade + two "
        f"orders_fill rows) / wall time from releasing the leases to an empty backlog. "
        f"Best worker count: {best_w}."
    )
    block = "\n".join([f"### Run {now}", "", notes, "", *summary, "", *rows])
    print("\n" + block + "\n")
    if not args.no_record:
        record(block)
    if args.profile:
        close_old_connections()
        profile(seeded.tokens, seeded.user_ids)
    print(f"RESULT order_place_per_s {place.rate:.1f} orders/s")


if __name__ == "__main__":
    main()
