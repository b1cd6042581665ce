"""Price feeds at scale: 500 sim-priced markets, 10,000 resting orders, the real Celery worker
(queue ``feeds``) and Celery beat; measures polls/s per market, match passes/s per market and
the duration of a whole matching pass (all 500 markets) p50/p99.

``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7
.venv/bin/python bench/feed.py [--markets 500] [--orders 10000] [--seconds 10]``. It creates
(if missing) and migrates its own database ``th_bench_feed``; in ``REDIS_URL`` (a scratch db) it
deletes and rewrites only its markets' keys (``*{Fnnn-KRW}*``) and the ``feeds:*`` keys.

Orders go straight into the engine (``Engine.rebuild``, 20 per market, bids and asks 2-300 ticks
around the sim's start price of 10,000 ticks), not through PostgreSQL: this measures the feed
and matching cadence, not settlement (fills are left in the event streams). Prints a table,
replaces its section of docs/benchmarks.md and ends with ``RESULT feed_match_passes_per_s
<lowest per-market rate> passes/s``."""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import bench_database_url, benchmarks_section_write  # noqa: E402

BENCH_DB = "th_bench_feed"
HEADING = "## Price feeds (bench/feed.py)"
WARM_UP_S = 8.0
LOG_DIR = Path(os.environ.get("TRADEHIVE_VAR_DIR", ROOT / "var")) / "bench_feed"


def _markets(count: int) -> list[str]:
    from markets.models import TradingPair
    from markets.services import pair_create
    from wallets.models import Asset
    from wallets.seed import asset_seed_defaults

    krw = {a.symbol: a for a in asset_seed_defaults()}["KRW"]
    symbols = []
    for n in range(count):
        base, _ = Asset.objects.get_or_create(
            symbol=f"F{n:03d}", defaults={"name": f"Feed coin {n}", "decimals": 0}
        )
        symbol = f"{base.symbol}-KRW"
        if not TradingPair.objects.filter(symbol=symbol).exists():
            pair_create(
                base=base,
                quote=krw,
                tick_size=Decimal(1),
                lot_size=Decimal(1),
                price_source="sim",
                actor=None,
            )
        symbols.append(symbol)
    # Other feed markets of earlier runs with more markets would be polled too: make them book.
    TradingPair.objects.exclude(symbol__in=symbols).exclude(price_source="book").update(
        price_source="book"
    )
    return symbols


def _redis_reset(client, symbols: list[str]) -> None:
    for pattern in ("feeds:*", *[f"*{{{s}}}*" for s in symbols]):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])


def _books(symbols: list[str], orders: int) -> int:
    from engine.engine import EngineOrder, OrderType, RestingOrder, Side
    from engine.runtime import get_engine

    engine = get_engine()
    rng = random.Random(20240901)
    per_market = orders // len(symbols)
    start = 10_000
    loaded = 0
    for m, symbol in enumerate(symbols):
        resting = []
        for i in range(per_market):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            offset = rng.randint(2, 300)
            price = start - offset if side == Side.BUY else start + offset
            order = EngineOrder(
                order_id=f"b{m}-{i}",
                owner=1 + rng.randrange(1000),
                side=side,
                order_type=OrderType.LIMIT,
                quantity=rng.randint(1, 50),
                price=price,
            )
            resting.append(RestingOrder(order=order, remaining=order.quantity))
        engine.rebuild(symbol, resting)
        loaded += len(resting)
    return loaded


def _start(args: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = (LOG_DIR / f"{name}.log").open("wb")
    command = [sys.executable, "-m", "celery", "-A", "tradehive", *args]
    return subprocess.Popen(  # noqa: S603 - our own binary and literal arguments
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4, help="feeds worker threads")
    options = parser.parse_args()
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    os.environ["DATABASE_URL"] = bench_database_url(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.base")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from engine.keys import events_key
    from feeds.cadence import cadence_measure
    from tradehive.redis_client import get_redis

    call_command("migrate", verbosity=0)
    symbols = _markets(options.markets)
    client = get_redis()
    _redis_reset(client, symbols)
    loaded = _books(symbols, options.orders)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradehive.settings.base",
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    load_before = os.getloadavg()[0]
    processes = [
        # The same workers as tradehive/launcher.py: polls, passes and roll-ups apart.
        _start(
            [
                "worker",
                "-Q",
                "feeds",
                "-P",
                "threads",
                "-c",
                str(options.threads),
                "-l",
                "warning",
                "-n",
                f"feeds-bench-{os.getpid()}@%h",
            ],
            env,
            "worker",
        ),
        _start(
            [
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
                f"feeds-match-bench-{os.getpid()}@%h",
            ],
            env,
            "worker-match",
        ),
        _start(
            [
                "worker",
                "-Q",
                "celery",
                "-P",
                "threads",
                "-c",
                "2",
                "-l",
                "warning",
                "-n",
                f"default-bench-{os.getpid()}@%h",
            ],
            env,
            "worker-default",
        ),
        _start(["beat", "-l", "warning", "-s", str(LOG_DIR / "beat-schedule")], env, "beat"),
    ]
    try:
        time.sleep(WARM_UP_S)
        if any(p.poll() is not None for p in processes):
            sys.exit(f"worker or beat died: see {LOG_DIR}/*.log")
        cadence = cadence_measure(client=client, symbols=symbols, seconds=options.seconds)
    finally:
        _stop(processes)
    load_after = os.getloadavg()[0]
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.xlen(events_key(symbol))
    fill_events = sum(pipe.execute())

    polls, passes = cadence.polls_per_s.values(), cadence.passes_per_s.values()
    slow_polls = sum(p < 4.0 for p in polls)
    slow_passes = sum(p < 2.0 for p in passes)
    p99 = cadence.percentile_ms(0.99)
    ok = "met" if min(polls) >= 4 and min(passes) >= 2 and (p99 or 1e9) < 100 else "MISSED"
    lines = [
        HEADING,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; Python "
        f"{platform.python_version()}, Redis {client.info('server')['redis_version']}, "
        f"{os.cpu_count()} CPUs shared by beat, three workers (queue `feeds`: polls, "
        f"{options.threads} threads; `feeds-match`: passes; `celery`: candle and ticker "
        f"roll-ups), Redis and PostgreSQL; load average {load_before:.1f} before, "
        f"{load_after:.1f} after. {len(symbols)} sim-priced markets, {loaded:,} resting orders "
        f"loaded into the engine, {options.seconds:.0f} s measured after {WARM_UP_S:.0f} s "
        f"warm-up on beat's 0.25 s / 0.5 s grid (feeds/schedules.py). A pass = one "
        f"`feeds.tasks.match_markets` run over all markets (one pipeline of `feed_fill.lua`). "
        f"Goal >= 4 polls/s and >= 2 passes/s for every market, pass p99 < 100 ms: {ok}.",
        "",
        cadence.table(),
        "",
        f"Markets under 4 polls/s: {slow_polls}; under 2 passes/s: {slow_passes}; "
        f"engine events left by feed fills during the run: {fill_events:,}.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    benchmarks_section_write(HEADING, section)
    print(f"RESULT feed_match_passes_per_s {min(passes):.2f} passes/s")


if __name__ == "__main__":
    main()
