"""Signed order placement (API keys, Binance's scheme) against JWT placement, in one run.

Usage: ``.venv/bin/python bench/signed_orders.py [--seconds 10] [--rounds 3] [--concurrency 16]
[--no-record]``.

Stores: those of bench/orders.py (``TH_BENCH_DATABASE_URL``, default database
``th_bench_orders``, emptied at start; ``TH_BENCH_REDIS_URL``, default Redis db 9, flushed).
One uvicorn worker serves every phase. Each of ``--concurrency`` clients is one user on its own
keep-alive connection with both a JWT and an API key (read + trade), and places the same random
order flow as bench/orders.py (70 % makers, 30 % takers) through:

- ``jwt``:    POST /api/v1/orders, ``Authorization: Bearer``, JSON body;
- ``v1 key``: POST /api/v1/orders signed (query ``timestamp`` + ``signature`` over query + JSON
  body, header ``X-MBX-APIKEY``);
- ``v3 key``: POST /api/v3/order as ccxt's binance sends it: a form body with ``timestamp``,
  ``recvWindow`` and ``signature`` last (only if the server has /api/v3).

The phases alternate (jwt, v1 key, v3 key, jwt, ...) for ``--rounds`` rounds so a drift of the
shared 2-core machine hits each alike. Settlement is not running (bench/orders.py measures it):
every phase pays the same for the engine and Redis. The figure is the median over rounds of
each signed phase's rate / the same round's JWT rate. Ends with
``RESULT signed_over_jwt_v3 <ratio>`` (or ``_v1`` when /api/v3 is absent); the goal is >= 0.9."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import orders as ob  # noqa: E402  (sets the bench stores in os.environ)
from bench.common import benchmarks_section_write  # noqa: E402

HEADING = "## Signed API keys vs JWT (bench/signed_orders.py)"


@dataclass
class Client:
    token: str
    key: str
    secret: str


def seed_keys(tokens: list[str], user_ids: list[int]) -> list[Client]:
    from accounts.api_keys import api_key_create
    from accounts.models import User

    clients = []
    for token, user_id in zip(tokens, user_ids, strict=True):
        key, secret = api_key_create(
            user=User.objects.get(pk=user_id), label="bench", permissions=["trade"]
        )
        clients.append(Client(token=token, key=key.key, secret=secret))
    return clients


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


Request = tuple[str, dict[str, str], bytes]  # path, headers, body


def jwt_request(client: Client, order: dict[str, object]) -> Request:
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"}
    return ob.ORDERS_PATH, headers, json.dumps(order).encode()


def v1_signed_request(client: Client, order: dict[str, object]) -> Request:
    body = json.dumps(order)
    query = f"timestamp={_now_ms()}"
    path = f"{ob.ORDERS_PATH}?{query}&signature={_sign(client.secret, query + body)}"
    headers = {"X-MBX-APIKEY": client.key, "Content-Type": "application/json"}
    return path, headers, body.encode()


def v3_signed_request(client: Client, order: dict[str, object]) -> Request:
    """The order as ccxt's ``binance.create_order`` sends it (``binance.sign``)."""
    params: dict[str, object] = {
        "symbol": str(order["symbol"]).replace("-", ""),
        "side": str(order["side"]).upper(),
        "type": str(order["type"]).upper(),
        "quantity": order["quantity"],
        "newOrderRespType": "ACK",
    }
    if order["type"] == "limit":
        params["timeInForce"] = order.get("time_in_force", "GTC")
        params["price"] = order["price"]
    params.update(timestamp=_now_ms(), recvWindow=10000)
    query = urlencode(params)
    body = f"{query}&signature={_sign(client.secret, query)}"
    headers = {"X-MBX-APIKEY": client.key, "Content-Type": "application/x-www-form-urlencoded"}
    return "/api/v3/order", headers, body.encode()


async def _post(conn: ob.Connection, path: str, headers: dict[str, str], body: bytes) -> int:
    """One POST on ``conn`` (bench/orders.py's lean client, with our own headers)."""
    if conn.writer is None:
        conn.reader, conn.writer = await asyncio.open_connection("127.0.0.1", conn.port)
    assert conn.reader is not None
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    conn.writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{conn.port}\r\n{lines}"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await conn.reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await conn.reader.readexactly(length)
    return int(head[9:12])


async def drive(
    *,
    port: int,
    clients: list[Client],
    build: Callable[[Client, dict[str, object]], Request],
    seconds: float,
    seed: int,
    result: ob.LoadResult,
    server: ob.Proc,
) -> None:
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + ob.WARMUP_S
    end = measure_from + seconds
    marks: dict[str, float] = {}

    async def run(index: int) -> None:
        conn, flow, client = ob.Connection(port), ob.OrderFlow(seed * 1000 + index), clients[index]
        try:
            while (now := loop.time()) < end:
                if now >= measure_from and "cpu" not in marks:
                    marks["cpu"] = server.cpu_seconds()
                path, headers, body = build(client, flow.body())
                began = loop.time()
                try:
                    status = await asyncio.wait_for(_post(conn, path, headers, body), 30)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    status = -1
                    result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
                finished = loop.time()
                if began < measure_from or finished > end:
                    continue
                if status in (200, 201):
                    result.ok += 1
                    result.latencies_ms.append((finished - began) * 1000)
                elif status != -1:
                    result.errors[str(status)] = result.errors.get(str(status), 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(run(i) for i in range(len(clients))))
    if "cpu" in marks:
        result.server_cpu_s = server.cpu_seconds() - marks["cpu"]
    result.seconds = seconds


def has_v3(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/ping", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-record", action="store_true", help="do not edit benchmarks.md")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 128 or not 1 <= args.rounds <= 10:
        sys.exit("--concurrency 1..128, --rounds 1..10")

    ob.ensure_database(ob.DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections

    call_command("migrate", verbosity=0, skip_checks=True)
    ob.reset_database()
    ob.redis_client().flushdb()
    seeded = ob.seed(args.concurrency)
    clients = seed_keys(seeded.tokens, seeded.user_ids)
    close_old_connections()

    logdir = Path(tempfile.mkdtemp(prefix="th_bench_signed_"))
    ob.use_settings_overlay(logdir)
    port = ob.free_port()
    server = ob.start_server(1, port, logdir)
    phases: list[tuple[str, Callable[[Client, dict[str, object]], Request]]] = [
        ("jwt   POST /api/v1/orders", jwt_request),
        ("key   POST /api/v1/orders", v1_signed_request),
    ]
    if has_v3(port):
        phases.append(("key   POST /api/v3/order", v3_signed_request))
    results: dict[str, list[ob.LoadResult]] = {label: [] for label, _ in phases}
    try:
        for round_no in range(args.rounds):
            print(f"round {round_no + 1}/{args.rounds}", flush=True)
            for label, build in phases:
                result = ob.LoadResult(label, "", 1, args.concurrency)
                asyncio.run(
                    drive(
                        port=port,
                        clients=clients,
                        build=build,
                        seconds=args.seconds,
                        seed=round_no * 10 + len(results[label]),
                        result=result,
                        server=server,
                    )
                )
                results[label].append(result)
                print(
                    f"  {label:<28} {result.rate:8.1f} orders/s  p50 {result.pct(0.5):6.1f} ms"
                    f"  p99 {result.pct(0.99):6.1f} ms  server CPU "
                    f"{result.server_cpu_ms_per_req:5.2f} ms/order  errors {result.errors or 0}",
                    flush=True,
                )
    finally:
        server.stop()

    jwt_label = phases[0][0]
    rows = []
    ratios: dict[str, float] = {}
    for label, _ in phases:
        runs = results[label]
        per_round = [r.rate / j.rate for r, j in zip(runs, results[jwt_label], strict=True)]
        ratios[label] = statistics.median(per_round)
        rows.append(
            f"| {label.strip()} | {statistics.median(r.rate for r in runs):,.0f} | "
            f"{statistics.median(r.pct(0.5) for r in runs):.1f} | "
            f"{statistics.median(r.pct(0.99) for r in runs):.1f} | "
            f"{statistics.median(r.server_cpu_ms_per_req for r in runs):.2f} | "
            f"{ratios[label]:.2f} ({', '.join(f'{x:.2f}' for x in per_round)}) |"
        )
    signed_label = phases[-1][0]
    name = "signed_over_jwt_v3" if "v3" in signed_label else "signed_over_jwt_v1"
    table = "\n".join(
        [
            "| phase | orders/s (median) | p50 ms | p99 ms | server CPU ms/order | "
            "rate / same round's JWT: median (each round) |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
        ]
    )
    print(table)
    if not args.no_record:
        section = (
            f"{HEADING}\n\n"
            f"`.venv/bin/python bench/signed_orders.py --seconds {args.seconds:g} --rounds "
            f"{args.rounds} --concurrency {args.concurrency}` on "
            f"{datetime.now(UTC):%Y-%m-%d}, this 2-core machine (client, one uvicorn worker, "
            "PostgreSQL and Redis share it). Phases alternate within each round; settlement "
            "is not running. Goal: signed >= 0.9 of JWT.\n\n"
            f"{table}\n"
        )
        benchmarks_section_write(HEADING, section)
    print(f"RESULT {name} {ratios[signed_label]:.3f}")


if __name__ == "__main__":
    main()
