"""Engine throughput on one Redis against a three-master Redis Cluster, by client processes.

Usage: ``.venv/bin/python bench/scale.py [--seconds 8] [--clients 1,2,4] [--markets 6]``.
Starts its own servers on ports 7100-7199 (``tradehive.testing.redis_cluster``): a plain
redis-server and a three-master cluster of the same binary, both without persistence.

Each client process owns ``markets / clients`` markets (hash tags spread over the cluster's
three masters) and loops for ``--seconds``: one ``Engine.submit`` per call, as a web process
places an order (no batching), alternating makers that rest near the spread and takers that
cross them (half the calls fill). Reports total engine calls per second, the latency of one
call (p50/p99) and the CPU seconds each redis-server used per 1,000 calls. Prints a markdown
table and ends with ``RESULT`` lines (docs/scaling.md quotes them)."""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from engine.engine import Engine, EngineOrder, OrderType, Side, TimeInForce  # noqa: E402
from engine.keys import market_keys  # noqa: E402
from tradehive.redis_client import redis_from_url  # noqa: E402
from tradehive.testing.redis_cluster import redis_cluster, redis_standalone  # noqa: E402

MARKETS = ["BTC-KRW", "ETH-KRW", "LPJ-KRW", "XRP-KRW", "SOL-KRW", "DOGE-KRW", "ADA-KRW", "DOT-KRW"]


def _order(order_id: str, side: Side, price: int, owner: int) -> EngineOrder:
    return EngineOrder(
        order_id=order_id,
        owner=owner,
        side=side,
        order_type=OrderType.LIMIT,
        price=price,
        quantity=1,
        time_in_force=TimeInForce.GTC,
    )


def client_run(url: str, symbols: list[str], seconds: float, start_at: float, queue) -> None:  # type: ignore[no-untyped-def]
    """One client process: makers and crossing takers on ``symbols`` until the time is up;
    puts (calls, latencies in us) on ``queue``."""
    engine = Engine(redis_from_url(url), use_functions=True)
    for symbol in symbols:
        engine.rebuild(symbol, [])
    while time.time() < start_at:
        time.sleep(0.001)
    latencies: list[int] = []
    calls = 0
    end = start_at + seconds
    n = 0
    while time.time() < end:
        symbol = symbols[n % len(symbols)]
        # maker: an ask at 1000; taker (next call on this market): a bid at 1000 that fills it
        taker = (n // len(symbols)) % 2 == 1
        order = _order(f"o{n}", Side.BUY if taker else Side.SELL, 1000, owner=2 if taker else 1)
        started = time.perf_counter_ns()
        engine.submit(symbol, order)
        latencies.append((time.perf_counter_ns() - started) // 1000)
        calls += 1
        n += 1
    queue.put((calls, latencies))


@dataclass
class Row:
    target: str
    clients: int
    calls_per_s: float
    p50_us: float
    p99_us: float
    server_cpu_ms_per_1000: float


def server_cpu(ports: list[int]) -> float:
    """CPU seconds (user + system) the redis-servers on ``ports`` have used."""
    total = 0.0
    for port in ports:
        with redis.Redis(port=port) as node:
            info = node.info("cpu")
        total += float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    return total


def measure(
    target: str, url: str, ports: list[int], clients: int, markets: int, seconds: float
) -> Row:
    symbols = MARKETS[:markets]
    shares = [symbols[i::clients] for i in range(clients)]
    queue: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 2.0  # every client connected and its markets rebuilt
    processes = [
        multiprocessing.Process(target=client_run, args=(url, share, seconds, start_at, queue))
        for share in shares
    ]
    for process in processes:
        process.start()
    while time.time() < start_at:
        time.sleep(0.01)
    cpu_before = server_cpu(ports)
    results = [queue.get() for _ in processes]
    cpu_after = server_cpu(ports)
    for process in processes:
        process.join()
    calls = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return Row(
        target=target,
        clients=clients,
        calls_per_s=calls / seconds,
        p50_us=statistics.median(latencies),
        p99_us=p99,
        server_cpu_ms_per_1000=(cpu_after - cpu_before) * 1000 / calls * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,2,4")
    parser.add_argument("--markets", type=int, default=6)
    options = parser.parse_args()
    counts = [int(c) for c in options.clients.split(",")]
    rows: list[Row] = []
    with redis_cluster() as cluster, redis_standalone(taken=cluster.ports) as single:
        homes = {
            cluster.client().get_node_from_key(market_keys(s)[0]).name
            for s in MARKETS[: options.markets]
        }
        print(f"markets {options.markets} over {len(homes)} cluster masters")
        single_port = int(single.rsplit(":", 1)[1].split("/")[0])
        targets = [
            ("one Redis", single, [single_port]),
            ("Redis Cluster x3", cluster.url, cluster.ports),
        ]
        for clients in counts:
            for target, url, ports in targets:
                for port in ports:
                    with redis.Redis(port=port) as node:
                        node.flushall()
                rows.append(measure(target, url, ports, clients, options.markets, options.seconds))
    print()
    print(
        "| target | client processes | engine calls/s | p50 us | p99 us | "
        "Redis CPU ms / 1,000 calls |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.target} | {row.clients} | {row.calls_per_s:,.0f} | {row.p50_us:.0f} | "
            f"{row.p99_us:.0f} | {row.server_cpu_ms_per_1000:.1f} |"
        )
    for row in rows:
        name = "cluster" if "Cluster" in row.target else "single"
        print(f"RESULT engine_calls_per_s_{name}_{row.clients}c {row.calls_per_s:.0f}")


if __name__ == "__main__":
    main()
