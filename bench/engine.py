"""Matching engine throughput from Python, against the bare EVALSHA ceiling.

Usage: ``.venv/bin/python bench/engine.py [--orders 30000] [--batch 500] [--per-call 64]
[--no-hiredis]``. Uses
``REDIS_URL`` (else starts the bundled redis-server). Only touches the BENCH-KRW market's keys.
redis-py uses hiredis (requirements.txt) to pack commands and parse replies; ``--no-hiredis``
hides it, for the pure-Python client the first runs were measured with.

1. Builds a book of 10,000 resting orders (2,500 levels a side, 1-5 lots each).
2. Runs a mixed, pipelined flow: 75 % makers near the spread, 15 % takers crossing several
   levels (half limit IOC, half market), 10 % cancels of earlier makers, through
   ``Engine.submit_many`` twice from the same book: one operation per script call, then
   ``--per-call`` operations per ``submit_batch.lua`` call (the headline figure).
3. In the same run, the ceiling: EVALSHA of a ``return 1`` script with the same keys and
   arguments as one order, same client, same pipelining.
Also reports redis-server CPU per operation (INFO cpu) and this process's CPU per operation.
Prints a markdown table, records it in docs/benchmarks.md, ends with ``RESULT`` line."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--no-hiredis" in sys.argv:
    sys.modules["hiredis"] = None  # type: ignore[assignment]  # redis-py falls back to Python

import redis  # noqa: E402

from engine.engine import (  # noqa: E402
    CancelRequest,
    Engine,
    EngineOrder,
    OrderType,
    Side,
    TimeInForce,
)
from engine.events import Fill  # noqa: E402
from engine.keys import market_keys  # noqa: E402
from tradehive.embedded_redis import ensure_redis_url  # noqa: E402

SYMBOL = "BENCH-KRW"
MID = 1_000_000
LEVELS = 2_500
BOOK_ORDERS = 10_000
HEADING = "## Matching engine (bench/engine.py)"


def build_book(engine: Engine, rng: random.Random, batch: int) -> list[str]:
    orders = []
    for i in range(BOOK_ORDERS):
        side = Side.BUY if i % 2 else Side.SELL
        level = rng.randrange(LEVELS)
        price = MID - 1 - level if side == Side.BUY else MID + level
        orders.append(
            (
                SYMBOL,
                EngineOrder(
                    f"book{i}",
                    1 + i % 50,
                    side,
                    OrderType.LIMIT,
                    quantity=rng.randint(1, 5),
                    price=price,
                ),
            )
        )
    engine.submit_many(orders, batch=batch)
    return [order.order_id for _, order in orders]


def mixed_flow(
    count: int, rng: random.Random, maker_ids: list[str]
) -> list[tuple[str, EngineOrder | CancelRequest]]:
    flow: list[tuple[str, EngineOrder | CancelRequest]] = []
    for i in range(count):
        roll = rng.random()
        owner = 100 + rng.randrange(200)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        if roll < 0.75:
            level = rng.randrange(200)
            price = MID - 1 - level if side == Side.BUY else MID + level
            order_id = f"m{i}"
            maker_ids.append(order_id)
            flow.append(
                (
                    SYMBOL,
                    EngineOrder(
                        order_id,
                        owner,
                        side,
                        OrderType.LIMIT,
                        quantity=rng.randint(1, 5),
                        price=price,
                    ),
                )
            )
        elif roll < 0.90:
            quantity = rng.randint(10, 14)
            if rng.random() < 0.5:
                price = MID + LEVELS if side == Side.BUY else MID - LEVELS
                order = EngineOrder(
                    f"t{i}",
                    owner,
                    side,
                    OrderType.LIMIT,
                    quantity=quantity,
                    price=price,
                    time_in_force=TimeInForce.IOC,
                )
            else:
                order = EngineOrder(f"t{i}", owner, side, OrderType.MARKET, quantity=quantity)
            flow.append((SYMBOL, order))
        else:
            flow.append((SYMBOL, CancelRequest(maker_ids[rng.randrange(len(maker_ids))])))
    return flow


def bare_ceiling(engine: Engine, count: int, batch: int) -> float:
    """The same keys, arguments, client and pipelining as the engine run (Engine._stream writes
    batch k+1 before reading batch k), but a script that only returns 1."""
    bare = SimpleNamespace(sha=engine.redis.script_load("return 1"))
    args = [
        "m1",
        "123",
        "buy",
        "limit",
        "GTC",
        "0",
        "1000000",
        "3",
        "",
        "",
        "expire_taker",
        "86400000",
    ]
    calls = [(SYMBOL, bare, args)] * count
    chunks = [calls[i : i + batch] for i in range(0, count, batch)]
    started = time.perf_counter()
    answers = engine._stream(chunks)
    elapsed = time.perf_counter() - started
    assert answers == [1] * count
    return count / elapsed


def clear_market(client: redis.Redis) -> None:
    keys = market_keys(SYMBOL)
    Engine(client).rebuild(SYMBOL, [])  # drops orders, hashes and owner indexes
    client.delete(*keys)


def _client_parser() -> str:
    if redis.utils.HIREDIS_AVAILABLE:
        import hiredis

        return f"hiredis {hiredis.__version__}"
    return "no hiredis"


def record(table: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{HEADING}\n\n{table}\n"
    if HEADING in text:
        head, _, rest = text.partition(HEADING)
        following = rest.find("\n## ")
        tail = rest[following + 1 :] if following >= 0 else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


@dataclass
class EngineRun:
    per_call: int
    operations: int
    rate: float
    fills: int
    resting_before: int
    resting_after: int
    redis_us: float  # redis-server CPU per operation
    python_us: float  # this process's CPU per operation


def _redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def engine_run(client: redis.Redis, operations: int, batch: int, per_call: int) -> EngineRun:
    """The book and the flow from a fixed seed, so every run sees the same work."""
    rng = random.Random(20261121)
    clear_market(client)
    engine = Engine(client)
    engine.rebuild(SYMBOL, [])
    maker_ids = build_book(engine, rng, batch)
    snapshot = engine.snapshot(SYMBOL)
    resting_before = len(snapshot.bids) + len(snapshot.asks)
    flow = mixed_flow(operations, rng, maker_ids)
    redis_before, python_before = _redis_cpu(client), time.process_time()
    started = time.perf_counter()
    answers = engine.submit_many(flow, batch=batch, per_call=per_call)
    elapsed = time.perf_counter() - started
    redis_cpu, python_cpu = _redis_cpu(client) - redis_before, time.process_time() - python_before
    snapshot = engine.snapshot(SYMBOL)
    return EngineRun(
        per_call=per_call,
        operations=len(flow),
        rate=len(flow) / elapsed,
        fills=sum(isinstance(e, Fill) for events in answers for e in events),
        resting_before=resting_before,
        resting_after=len(snapshot.bids) + len(snapshot.asks),
        redis_us=redis_cpu / len(flow) * 1e6,
        python_us=python_cpu / len(flow) * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=500, help="operations per pipeline write")
    parser.add_argument(
        "--per-call",
        type=int,
        default=64,
        help="operations per submit_batch.lua call in the headline run",
    )
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--no-hiredis",
        action="store_true",
        help="pure-Python redis-py (handled before redis is imported)",
    )
    options = parser.parse_args()
    ensure_redis_url()
    client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    server = client.info("server")["redis_version"]
    single = engine_run(client, options.orders, options.batch, 1)
    batched = engine_run(client, options.orders, options.batch, options.per_call)
    assert (single.fills, single.resting_after) == (batched.fills, batched.resting_after)
    ceiling_engine = Engine(client)
    redis_before = _redis_cpu(client)
    bare_rate = bare_ceiling(ceiling_engine, options.orders, options.batch)
    bare_redis_us = (_redis_cpu(client) - redis_before) / options.orders * 1e6
    clear_market(client)

    def row(label: str, run: EngineRun) -> str:
        return (
            f"| {label} | {run.rate:,.0f} | {run.rate / bare_rate:.2f} | "
            f"{run.redis_us:.1f} | {run.python_us:.1f} |"
        )

    table = "\n".join(
        [
            f"Redis {server}, redis-py {redis.__version__} ({_client_parser()}), {options.batch} "
            f"operations per pipeline write, {batched.operations} operations (75 % makers, 15 % "
            f"takers of 10-14 lots, 10 % cancels); book {batched.resting_before} resting orders "
            f"before, {batched.resting_after} after; {batched.fills} fills "
            f"({batched.fills / batched.operations:.2f} per operation); "
            f"both engine runs start from the same book and get the same flow "
            f"(same fills, same book after).",
            "",
            "| measure | operations/s | ratio to ceiling | redis-server CPU us/op "
            "| client CPU us/op |",
            "|---|---:|---:|---:|---:|",
            row("engine, one script call per operation (submit_batch.lua of 1)", single),
            row(f"engine, {options.per_call} operations per submit_batch.lua call", batched),
            f"| bare ceiling (EVALSHA `return 1`, one order's keys/args, same pipelining) | "
            f"{bare_rate:,.0f} | 1.00 | {bare_redis_us:.1f} | |",
        ]
    )
    print(table)
    if not options.no_record:
        record(table)
    print(f"RESULT engine_orders_per_s {batched.rate:.0f} orders/s")


if __name__ == "__main__":
    main()
