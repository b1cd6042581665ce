"""Latency a trader feels: from sending an order to seeing its fill, per stage and per hop.

Usage: ``.venv/bin/python bench/latency.py [--orders 60] [--load 100] [--http wsgi|asgi]
[--no-record]``.

Own stores only: PostgreSQL ``TH_BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/th_bench_latency``; created, migrated and emptied at
start: never point it at real data) and Redis ``TH_BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/13``; FLUSHDB at start).

1. Seeds LPJ-KRW and users with JWTs; starts the real processes as production runs them
   (``--http wsgi``, the default): compose's gunicorn command for HTTP, the image's uvicorn
   command for ``/ws/`` (both read from the deployment files, one worker each), and
   ``manage.py settle``; ``--http asgi`` serves both from that one uvicorn, as ``make run``.
2. A maker and a taker each hold a websocket (``orders``, ``fills``; the taker also
   ``trades:LPJ-KRW`` and ``depth:LPJ-KRW``). ``--orders`` times: the maker rests 1 LPJ (the
   bench waits for its ``open``), then the taker POSTs a crossing buy and the bench records,
   from the moment the POST is sent: (a) its HTTP answer, (b) the taker's and the maker's
   ``fills`` messages, (c) the ``trades`` and the next ``depth`` message, (d) the taker's
   balances on ``GET /wallet/balances``.
3. Where the time goes, from the payloads' own clocks (one machine, one clock): the fill's
   ``created_at`` is the engine's time of the match, the order's ``updated_at`` settlement's
   write, a push's ``ts`` when it was sent: so POST -> engine, engine -> settled,
   settled -> pushed, pushed -> received.
4. The same again while ``--load`` orders per second (resting limits far from the price and
   their cancels, from other users) run in the background.
Prints p50/p90/p99/max per stage, writes the table under its heading in docs/benchmarks.md and
ends with ``RESULT own_fill_p50_ms <idle p50> ms``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    benchmarks_section_write,
    process_start,
    process_stop,
    stores_reset,
)
from tradehive.testing.deploy import compose_commands, dockerfile_command, on_loopback  # noqa: E402

DATABASE_URL = os.environ.get(
    "TH_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/th_bench_latency"
)
REDIS_URL = os.environ.get("TH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    DJANGO_SETTINGS_MODULE="tradehive.settings.base",
    LOG_LEVEL="WARNING",
    JWT_ACCESS_MINUTES="240",
)
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
HEADING = "## Latency (bench/latency.py)"
SYMBOL = "LPJ-KRW"
D = Decimal


def setup(load_users: int) -> tuple[list[str], list[int]]:
    """Empty stores, the market, two traders and ``load_users`` load users: (tokens, ids)."""
    stores_reset(DATABASE_URL, REDIS_URL)

    from django.test.utils import override_settings

    from accounts.services import token_pair_issue, user_create
    from markets.services import pair_create
    from settlement.services import settlement_group_ensure
    from tradehive.redis_client import get_redis
    from wallets.models import Asset
    from wallets.seed import asset_seed_defaults
    from wallets.services import wallet_account_get, wallet_credit

    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=D(1),
        lot_size=D(1),
        actor=None,
    )
    settlement_group_ensure(get_redis(), SYMBOL)
    tokens, ids = [], []
    # The server never checks these passwords (JWTs only): a fast hasher keeps seeding quick.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for n in range(2 + load_users):
            user = user_create(
                username=f"lat{n}", email=f"lat{n}@bench.invalid", password=secrets.token_hex(8)
            )
            for symbol, amount in (("KRW", "100000000000"), ("LPJ", "100000000")):
                wallet_credit(
                    account=wallet_account_get(user=user),
                    asset=Asset.objects.get(symbol=symbol),
                    amount=D(amount),
                    reference="bench",
                )
            tokens.append(token_pair_issue(user=user)["access"])
            ids.append(user.pk)
    return tokens, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_wait(port: int, timeout: float = 60) -> None:
    """Return once uvicorn accepts connections on ``port`` (its start-up takes seconds on a busy
    machine)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# Every request of the bench comes from one address and far past a user's budgets.
UNLIMITED = {
    "ALLOWED_HOSTS": "127.0.0.1",
    "RATE_LIMIT_IP_WEIGHT_PER_MINUTE": "1000000000",
    "RATE_LIMIT_USER_WEIGHT_PER_MINUTE": "1000000000",
    "RATE_LIMIT_USER_ORDERS_PER_10S": "1000000000",
}


def ms(value: str) -> float:
    """An API timestamp (ISO, ms) as epoch ms."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


class Trader:
    """One user's HTTP session and websocket; messages are timestamped as they arrive."""

    def __init__(self, session: Any, base: str, token: str, ws_base: str = "") -> None:
        self.session, self.base, self.ws_base = session, base, ws_base or base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.start = 0  # ``until`` looks at messages from here on (``drain`` moves it)

    async def connect(self, channels: list[str]) -> None:
        url = self.ws_base.replace("http", "ws") + "/ws/"
        self.ws = await self.session.ws_connect(url, headers={"Origin": self.ws_base})
        await self.ws.send_json({"op": "auth", "token": self.token})
        await self.ws.send_json({"op": "subscribe", "channels": channels})
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            self.received.append((time.time() * 1000, json.loads(message.data)))
            self.arrived.set()

    async def until(self, predicate: Any, timeout: float = 10) -> tuple[float, dict[str, Any]]:
        """The first message since the last ``drain`` that ``predicate`` accepts (arrived or
        to come), with the time it arrived; nothing is consumed."""
        deadline = time.monotonic() + timeout
        while True:
            for at, message in self.received[self.start :]:
                if predicate(message):
                    return at, message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no such message")
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), left)

    def drain(self) -> None:
        self.start = len(self.received)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base + path, json=body, headers=self.headers) as r:
            return r.status, await r.json()

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path, headers=self.headers) as r:
            return await r.json()


def channel(name: str) -> Any:
    return lambda m: m.get("channel") == name


async def one_round(maker: Trader, taker: Trader, price: int) -> dict[str, float]:
    body = {"symbol": SYMBOL, "type": "limit", "quantity": "1", "price": str(price)}
    status, rest = await maker.post("/api/v1/orders", body | {"side": "sell"})
    assert status == 201, rest
    await maker.until(
        lambda m: m.get("channel") == "orders"
        and any(o["id"] == rest["id"] and o["status"] == "open" for o in m["data"])
    )
    maker.drain()
    taker.drain()
    before = await taker.get("/api/v1/wallet/balances")
    lpj = next((b["total"] for b in before if b["asset"] == "LPJ"), "0")
    sent = time.time() * 1000
    status, order = await taker.post(
        "/api/v1/orders", body | {"side": "buy", "time_in_force": "IOC"}
    )
    answered = time.time() * 1000
    assert status == 201, order
    own_at, own = await taker.until(channel("fills"))
    maker_at, _ = await maker.until(channel("fills"))
    orders_at, orders = await taker.until(
        lambda m: m.get("channel") == "orders"
        and any(o["id"] == order["id"] and o["status"] == "filled" for o in m["data"])
    )
    trades_at, _ = await taker.until(channel(f"trades:{SYMBOL}"))
    # the first depth update after the POST: the cross's at idle (under load it may be another
    # order's; a level that rested and left within one coalescing period shows no change)
    depth_at, _ = await taker.until(channel(f"depth:{SYMBOL}"))
    while True:
        now = await taker.get("/api/v1/wallet/balances")
        if next((b["total"] for b in now if b["asset"] == "LPJ"), "0") != lpj:
            balances_at = time.time() * 1000
            break
    fill = own["data"][0]
    filled = next(o for o in orders["data"] if o["id"] == order["id"])
    return {
        "http answer": answered - sent,
        "own fill (ws)": own_at - sent,
        "maker's fill (ws)": maker_at - sent,
        "own order filled (ws)": orders_at - sent,
        "trade (public ws)": trades_at - sent,
        "depth (public ws)": depth_at - sent,
        "balances (REST)": balances_at - sent,
        "hop: POST sent -> engine match": ms(fill["created_at"]) - sent,
        "hop: engine -> settled": ms(filled["updated_at"]) - ms(fill["created_at"]),
        "hop: settled -> pushed": own["ts"] - ms(filled["updated_at"]),
        "hop: pushed -> received": own_at - own["ts"],
    }


async def background(
    session: Any, base: str, tokens: list[str], rate: float, stop: asyncio.Event
) -> int:
    """``rate`` orders a second from the load users: resting buys far below the price, each
    cancelled again (so the book stays the same size). Returns how many were sent."""
    sent = 0
    traders = [Trader(session, base, token) for token in tokens]
    interval = 1 / rate if rate else 0
    next_at = time.monotonic()
    open_ids: list[tuple[Trader, int]] = []
    while not stop.is_set():
        trader = random.choice(traders)
        if open_ids and random.random() < 0.5:
            owner, order_id = open_ids.pop(0)
            async with session.delete(f"{base}/api/v1/orders/{order_id}", headers=owner.headers):
                pass
        else:
            price = random.randint(100, 500)
            body = {
                "symbol": SYMBOL,
                "side": "buy",
                "type": "limit",
                "quantity": "1",
                "price": str(price),
            }
            status, order = await trader.post("/api/v1/orders", body)
            if status == 201:
                open_ids.append((trader, order["id"]))
        sent += 1
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return sent


def pct(values: list[float], q: int) -> float:
    return quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def measure(
    base: str, ws_base: str, tokens: list[str], orders: int, load: float
) -> tuple[dict[str, list[float]], float]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        maker = Trader(session, base, tokens[0], ws_base)
        taker = Trader(session, base, tokens[1], ws_base)
        await maker.connect(["orders", "fills"])
        await taker.connect(["orders", "fills", f"trades:{SYMBOL}", f"depth:{SYMBOL}"])
        await asyncio.sleep(0.5)
        stopping = asyncio.Event()
        loader = None
        if load:  # four senders, so one slow answer does not hold the rate back
            shares = [tokens[2 + k :: 4] for k in range(4)]
            loader = asyncio.gather(
                *(background(session, base, share, load / 4, stopping) for share in shares)
            )
            await asyncio.sleep(2)  # the load settles in
        started = time.monotonic()
        results: dict[str, list[float]] = {}
        for n in range(orders):
            for stage, value in (await one_round(maker, taker, 1000 + n % 10)).items():
                results.setdefault(stage, []).append(value)
        elapsed = time.monotonic() - started
        rate = 0.0
        if loader is not None:
            stopping.set()
            rate = sum(await loader) / (time.monotonic() - started + 2)
        return results, rate if load else elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--load", type=float, default=100.0, help="background orders/s")
    parser.add_argument(
        "--http",
        choices=("wsgi", "asgi"),
        default="wsgi",
        help="wsgi: production's layout (compose's gunicorn command serves HTTP, the image's "
        "uvicorn command serves /ws/); asgi: one uvicorn serves both, as make run",
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    tokens, _ = setup(load_users=20)
    logdir = Path(tempfile.mkdtemp(prefix="th-bench-latency-"))
    ws_port = free_port()
    ws_base = f"http://127.0.0.1:{ws_port}"
    uvicorn = on_loopback(dockerfile_command(), ws_port, workers=1)
    processes = [process_start("ws", uvicorn, logdir, **UNLIMITED)]
    port, base = ws_port, ws_base
    if args.http == "wsgi":
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = on_loopback(compose_commands()["web1"], port, workers=1)
        processes.append(process_start("web", gunicorn, logdir, **UNLIMITED))
    processes.append(
        process_start("settle", [sys.executable, "manage.py", "settle"], logdir, **UNLIMITED)
    )
    try:
        server_wait(ws_port)
        server_wait(port)
        time.sleep(2)  # settle's start-up (its first market load) overlaps the server's
        idle, _ = asyncio.run(measure(base, ws_base, tokens, args.orders, 0))
        loaded, rate = asyncio.run(measure(base, ws_base, tokens, args.orders, args.load))
    finally:
        for process in processes:
            process_stop(process)
    servers = "gunicorn x1 (HTTP), uvicorn x1 (/ws/)" if args.http == "wsgi" else "uvicorn x1"
    lines = [
        f"{args.orders} crossing orders at idle, then {args.orders} with a background load of "
        f"{rate:.0f} orders/s (resting limits and their cancels from 20 other users); {servers}"
        f" and settle x1 on this 2-core machine. Milliseconds from sending the POST.",
        "",
        "| stage | idle p50 | p90 | p99 | max | loaded p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in idle:
        a, b = idle[stage], loaded[stage]
        figures = [
            median(a),
            pct(a, 90),
            pct(a, 99),
            max(a),
            median(b),
            pct(b, 90),
            pct(b, 99),
            max(b),
        ]
        lines.append(f"| {stage} | " + " | ".join(f"{v:.1f}" for v in figures) + " |")
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        command = (
            f"`.venv/bin/python bench/latency.py --orders {args.orders} --load {args.load:g}"
            f" --http {args.http}`"
        )
        benchmarks_section_write(HEADING, f"{HEADING}\n\n{command}\n\n{text}\n")
    print(f"RESULT own_fill_p50_ms {median(idle['own fill (ws)']):.1f} ms")


if __name__ == "__main__":
    main()
