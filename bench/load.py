"""1,000 simulated users against the real processes: locust (bench/locustfile.py), headless.

Usage: ``.venv/bin/python bench/load.py [--users 1000] [--traders 300] [--spawn-rate 50]
[--seconds 300] [--workers 2] [--settle-processes 2] [--no-record]``.

Own stores only: PostgreSQL ``TH_BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/th_bench_load``; migrated, every app table emptied at
start: never point it at real data) and Redis ``TH_BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/9``; FLUSHDB at start). Traffic: 127.0.0.1 only.

Seeds the demo markets and one funded user per simulated user (JWTs), starts uvicorn
``tradehive.asgi`` (``--workers``), ``manage.py settle`` (``--settle-processes`` shards) and a
Celery worker as ``make run`` does (rate limits lifted via env: every user shares one address),
then runs ``locust --headless`` for ``--seconds`` (ramp-up included) and prints/records the
table per endpoint, req/s, orders/s, errors, CPU and load average."""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TH_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/th_bench_load")
from bench import orders as ob  # noqa: E402 - reads TH_BENCH_* at import
from bench.common import benchmarks_section_write  # noqa: E402

HEADING = "## 1,000 users under load (bench/load.py, locust)"
ORDER_NAMES = ("POST /orders limit", "POST /orders ioc", "POST /orders market")


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def celery_worker(logdir: Path) -> ob.Proc:
    return ob.Proc(
        "celery-worker",
        [
            *(ob.PYTHON, "-m", "celery", "-A", "tradehive", "worker", "-P", "threads"),
            *("-c", "8", "-l", "warning", "-n", f"load-{os.getpid()}@%h"),
        ],
        logdir,
    )


def machine_cpu() -> tuple[float, float]:
    import psutil

    times = psutil.cpu_times()
    return times.idle + getattr(times, "iowait", 0.0), sum(times)


def read_stats(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--traders", type=int, default=300, help="of --users, the rest browse")
    parser.add_argument("--spawn-rate", type=float, default=50)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="web workers (HTTP)")
    parser.add_argument(
        "--http",
        choices=("asgi", "wsgi"),
        default="asgi",
        help="asgi: uvicorn serves HTTP and websockets; wsgi: gunicorn (threads) serves HTTP "
        "and one uvicorn worker the websockets, as the split layout of docs/scaling.md",
    )
    parser.add_argument("--settle-processes", type=int, default=2)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if not 0 <= args.traders <= args.users or not 1 <= args.workers <= 4:
        sys.exit("--traders 0..--users, --workers 1..4")
    raise_fd_limit()

    ob.ensure_database(ob.DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections

    print(f"database {ob.DATABASE_URL}, redis {ob.REDIS_URL}", flush=True)
    call_command("migrate", verbosity=0, skip_checks=True)
    ob.reset_database()
    ob.redis_client().flushdb()
    started = time.perf_counter()
    seeded = ob.seed(args.users)
    print(f"seeded {args.users} users in {time.perf_counter() - started:.1f} s", flush=True)
    close_old_connections()

    logdir = Path(tempfile.mkdtemp(prefix="th_bench_load_"))
    ob.use_settings_overlay(logdir)
    tokens = logdir / "tokens.json"
    tokens.write_text(json.dumps(seeded.tokens))
    settle = ob.SettleProcs(args.settle_processes, logdir)
    worker = celery_worker(logdir)
    procs: list[ob.Proc | ob.SettleProcs] = [settle, worker]
    try:
        port = ob.free_port()
        server = ob.start_server(args.workers, port, logdir, http=args.http)
        procs.append(server)
        ws_port, ws_server = port, None
        if args.http == "wsgi":
            ws_port = ob.free_port()
            ws_server = ob.start_server(1, ws_port, logdir)
            procs.append(ws_server)
        time.sleep(2)
        if not (settle.alive() and worker.alive()):
            sys.exit(f"a process exited:\n{settle.tail()}\n{worker.tail()}")
        env = {
            **os.environ,
            "TH_LOAD_TOKENS": str(tokens),
            "TH_LOAD_TRADERS": str(args.traders),
            "TH_LOAD_WS_STATS": str(logdir / "ws.json"),
            "TH_LOAD_WS_HOST": f"ws://127.0.0.1:{ws_port}",
        }
        command = [
            ob.PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
            "-t", f"{args.seconds}s", "-H", f"http://127.0.0.1:{port}",
            "--csv", str(logdir / "load"), "--only-summary", "--stop-timeout", "5",
            "--loglevel", "WARNING",
        ]  # fmt: skip
        print(" ".join(command[1:]), flush=True)
        idle0, total0 = machine_cpu()
        web = [server, *([ws_server] if ws_server else [])]
        cpu0 = {p.name: p.cpu_seconds() for p in (*web, worker)} | {
            "settle": settle.cpu_seconds(),
            "postgres": ob.postgres_cpu_seconds(),
        }
        wall0 = time.perf_counter()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own binary
        loads: list[float] = []
        while locust.poll() is None:
            time.sleep(10)
            loads.append(os.getloadavg()[0])
        wall = time.perf_counter() - wall0
        # locust is the only child waited for since children0: its CPU, ramp-up included
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust_cpu = (children1.ru_utime + children1.ru_stime) - (
            children0.ru_utime + children0.ru_stime
        )
        idle1, total1 = machine_cpu()
        cpu = {p.name: p.cpu_seconds() - cpu0[p.name] for p in (*web, worker)} | {
            "settle": settle.cpu_seconds() - cpu0["settle"],
            "postgres": ob.postgres_cpu_seconds() - cpu0["postgres"],
            "locust": locust_cpu,
        }
        busy = 1 - (idle1 - idle0) / (total1 - total0)
        alive = settle.alive() and worker.alive() and all(p.alive() for p in web)
    finally:
        for proc in reversed(procs):
            proc.stop()

    rows = read_stats(logdir / "load_stats.csv")
    failures = read_stats(logdir / "load_failures.csv")
    ws = json.loads((logdir / "ws.json").read_text()) if (logdir / "ws.json").exists() else {}
    close_old_connections()
    from markets.models import Trade
    from orders.models import Order

    counts = {
        "orders": Order.objects.count(),
        "trades": Trade.objects.count(),
        "open": Order.objects.filter(status__in=("open", "partially_filled")).count(),
        "pending": Order.objects.filter(status="pending").count(),
    }
    by_name = {row["Name"]: row for row in rows}
    total = by_name.pop("Aggregated")
    seconds = args.seconds
    http = [r for r in by_name.values() if r["Type"] != "WS"]
    http_count = sum(int(r["Request Count"]) for r in http)
    orders = sum(int(by_name[n]["Request Count"]) for n in ORDER_NAMES if n in by_name)
    cancels = int(by_name.get("DELETE /orders/{id}", {}).get("Request Count", 0))
    lines = [
        "| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in [*sorted(by_name.values(), key=lambda r: r["Name"]), total]:
        lines.append(
            f"| {'WS ' if row['Type'] == 'WS' else ''}{row['Name']} | "
            f"{int(row['Request Count']):,} | "
            f"{int(row['Failure Count']):,} | {float(row['Requests/s']):,.1f} | {row['50%']} | "
            f"{row['95%']} | {row['99%']} | {float(row['Max Response Time']):,.0f} |"
        )
    load_max = max(loads) if loads else 0.0
    load_mean = sum(loads) / len(loads) if loads else 0.0
    summary = [
        f"HTTP {http_count / seconds:,.1f} req/s; orders placed {orders / seconds:,.1f}/s "
        f"(+ {cancels / seconds:,.1f} cancels/s); failures {int(total['Failure Count']):,} "
        f"of {int(total['Request Count']):,}; "
        f"mean latency {float(total['Average Response Time']):,.0f} ms",
        f"websockets: {ws.get('connected', 0):,} subscribed, {ws.get('failed', 0)} failed, "
        f"{ws.get('closed_early', 0)} closed by the server during the run, "
        f"{ws.get('frames', 0):,} frames received",
        f"book at the end: {counts['orders']:,} orders, {counts['trades']:,} trades, "
        f"{counts['open']:,} resting, {counts['pending']:,} still pending; "
        f"every process alive at the end: {alive}",
        f"machine CPU busy {busy * 100:.0f} % of {os.cpu_count()} cores over {wall:.0f} s; "
        f"load average (1 min) mean {load_mean:.1f}, max {load_max:.1f}; CPU s: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items())
        + " (the rest: Redis and other sessions)",
    ]
    if failures:
        summary.append(
            "failures: "
            + "; ".join(f"{f['Name']}: {f['Error'][:100]} x{f['Occurrences']}" for f in failures)
        )
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {s}" for s in summary)
    print(text, flush=True)
    if args.no_record:
        return
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    command_line = (
        f".venv/bin/python bench/load.py --users {args.users} --traders {args.traders} "
        f"--spawn-rate {args.spawn_rate:g} --seconds {args.seconds} --workers {args.workers} "
        f"--settle-processes {args.settle_processes} --http {args.http}"
    )
    section = (
        f"{HEADING}\n\n"
        f"{date}, `{command_line}` ({ob.machine_notes()}; other sessions shared the box).\n"
        f"{args.users - args.traders} browsers (every 2-6 s: markets, tickers, a market, depth, "
        "trades, candles; each holds a websocket on one market's ticker, depth and trades) and "
        f"{args.traders} traders (every 0.5-1.5 s: GTC limits near the mid, IOC limits and "
        "market orders through it, cancels of their resting orders, their open orders). "
        "Percentiles over the whole run, ramp-up included. Founding system: 1,000 virtual "
        "users, 149.75 req/s at 3.13 s mean latency. Goal: 0 errors, p99 <= 500 ms, "
        ">= 150 orders/s.\n\n"
        f"{text}\n"
    )
    benchmarks_section_write(HEADING, section)


if __name__ == "__main__":
    main()
