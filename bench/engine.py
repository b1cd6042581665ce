"""Matching engine throughput from Python, against the bare EVALSHA ceiling.

Usage: ``.venv/bin/python bench/engine.py [--orders 30000] [--batch 500] [--no-hiredis]``. Uses
``REDIS_URL`` (else starts the bundled redis-server). Only touches the BENCH-KRW market's keys.
redis-py uses hiredis (requirements.txt) to pack commands and parse replies; ``--no-hiredis``
hides it, for the pure-Python client the first runs were measured with.

1. Builds a book of 10,000 resting orders (2,500 levels a side, 1-5 lots each).
2. Runs a mixed, pipelined flow: 75 % makers near the spread, 15 % takers crossing several
   levels (half limit IOC, half market), 10 % cancels of earlier makers.
3. In the same run, the ceiling: EVALSHA of a ``return 1`` script with the same keys and
   arguments, same client, same pipelining.
Prints a markdown table, records it in docs/benchmarks.md, ends with ``RESULT`` line."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--no-hiredis" in sys.argv:
    sys.modules["hiredis"] = None  # type: ignore[assignment]  # redis-py falls back to Python

import redis  # noqa: E402

from matching.engine import (  # noqa: E402
    CancelRequest,
    Engine,
    EngineOrder,
    OrderType,
    Side,
    TimeInForce,
)
from matching.events import Fill  # noqa: E402
from matching.keys import market_keys  # noqa: E402
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
        orders.append((SYMBOL, EngineOrder(f"book{i}", 1 + i % 50, side, OrderType.LIMIT,
                                           quantity=rng.randint(1, 5), price=price)))
    engine.submit_many(orders, batch=batch)
    return [order.order_id for _, order in orders]


def mixed_flow(count: int, rng: random.Random, maker_ids: list[str]
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
            flow.append((SYMBOL, EngineOrder(order_id, owner, side, OrderType.LIMIT,
                                             quantity=rng.randint(1, 5), price=price)))
        elif roll < 0.90:
            quantity = rng.randint(10, 14)
            if rng.random() < 0.5:
                price = MID + LEVELS if side == Side.BUY else MID - LEVELS
                order = EngineOrder(f"t{i}", owner, side, OrderType.LIMIT, quantity=quantity,
                                    price=price, time_in_force=TimeInForce.IOC)
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
    args = ["m1", "123", "buy", "limit", "GTC", "0", "1000000", "3", "", "", "expire_taker",
            "86400000"]
    calls = [(SYMBOL, bare, args)] * count
    chunks = [calls[i:i + batch] for i in range(0, count, batch)]
    started = time.perf_counter()
    answers = engine._stream(chunks)
    elapsed = time.perf_counter() - started
    assert answers == [1] * count
    return count / elapsed


def clear_market(client: redis.Redis) -> None:
    keys = market_keys(SYMBOL)
    Engine(client).rebuild(SYMBOL, [])  # drops orders, hashes and owner indexes
    client.delete(*keys[:12])


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
        tail = rest[following + 1:] if following >= 0 else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--no-hiredis", action="store_true",
                        help="pure-Python redis-py (handled before redis is imported)")
    options = parser.parse_args()
    ensure_redis_url()
    client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    server = client.info("server")["redis_version"]
    rng = random.Random(20261121)
    clear_market(client)
    engine = Engine(client)
    engine.rebuild(SYMBOL, [])

    maker_ids = build_book(engine, rng, options.batch)
    resting_before = len(engine.snapshot(SYMBOL).bids) + len(engine.snapshot(SYMBOL).asks)
    flow = mixed_flow(options.orders, rng, maker_ids)

    started = time.perf_counter()
    answers = engine.submit_many(flow, batch=options.batch)
    engine_rate = len(flow) / (time.perf_counter() - started)
    fills = sum(isinstance(e, Fill) for events in answers for e in events)
    snapshot = engine.snapshot(SYMBOL)
    resting_after = len(snapshot.bids) + len(snapshot.asks)
    bare_rate = bare_ceiling(engine, options.orders, options.batch)
    clear_market(client)

    ratio = engine_rate / bare_rate
    table = "\n".join([
        f"Redis {server}, redis-py {redis.__version__} ({_client_parser()}), pipeline batch "
        f"{options.batch}, {len(flow)} operations (75 % makers, 15 % takers of 10-14 lots, "
        f"10 % cancels); book {resting_before} resting orders before, {resting_after} after; "
        f"{fills} fills ({fills / len(flow):.2f} per operation).",
        "",
        "| measure | operations/s |",
        "|---|---|",
        f"| engine (submit.lua / cancel.lua via Engine.submit_many) | {engine_rate:,.0f} |",
        f"| bare ceiling (EVALSHA `return 1`, same keys/args/pipelining) | {bare_rate:,.0f} |",
        f"| ratio engine / ceiling | {ratio:.2f} |",
    ])
    print(table)
    if not options.no_record:
        record(table)
    print(f"RESULT engine_orders_per_s {engine_rate:.0f} orders/s")


if __name__ == "__main__":
    main()
