# ruff: noqa: S608, E501 - SQL built from Model._meta table names only (values are bound); the
# generator's SQL lines read better unbroken.
"""Rankings over tens of millions of fills: full rebuild, one refresh, API latency.

Usage: ``.venv/bin/python bench/rankings.py [--fills 20000000] [--users 100000] [--days 90]
[--more-fills 10000] [--requests 400] [--db-name th_rankings_bench] [--keep] [--no-record]
[--template NAME] [--http wsgi|asgi]``.

Own database only: ``--db-name`` (default ``th_rankings_bench``) on ``DATABASE_URL``'s server,
dropped and created at start and dropped at the end (``--keep`` leaves it). Traffic: 127.0.0.1 only.

1. Migrates, seeds the assets and 10 markets (5 quoted in KRW, 3 in USDT, 2 in BTC), ``--users``
   users (all opted in to rankings, 2 % bots) with ``COPY``, one order per user, then
   ``--fills`` fills spread over ``--days`` days (one statement generating the rows inside
   PostgreSQL into an unlogged table: a client ``COPY`` of 20 M rows costs minutes of Python), the
   markets' hourly candles, and deposits and withdrawals through the ledger (an opening
   deposit per user, two more cash flows per user on average).
2. Full rebuild (``rankings_rebuild``) from scratch: the headline figure.
3. The rest of the current hour: ``--more-fills`` fills, its candles moved, then one refresh;
   a minute's fills (a 60th) and the candles moved again, then one refresh (the steady state of
   a refresh every minute); then the first minute of the next hour (its fills and candles) and
   its first refresh, when the previous hour joins the closed hours and every period start
   moves on; then a refresh with nothing new.
4. ``VACUUM (ANALYZE)`` of the rankings tables (what autovacuum does next after a rebuild),
   then production's HTTP server (compose's gunicorn command; ``--http asgi``: the image's
   uvicorn) with one worker on the bench database; sequential keep-alive GETs of
   ``/api/v1/rankings`` (random period, sort and page) and ``/api/v1/traders/{handle}``
   (random traders): p50/p99.
Prints a markdown table, writes it under ``## Rankings`` in docs/benchmarks.md (unless
``--no-record``), and ends with ``RESULT rankings_full_rebuild_s <seconds> s``."""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import benchmarks_section_write  # noqa: E402
from tradehive.testing.deploy import compose_commands, dockerfile_command, on_loopback  # noqa: E402

PYTHON = sys.executable
DB_NAME = "th_rankings_bench"
HEADING = "## Rankings"
END = datetime(2026, 11, 30, tzinfo=UTC)
# symbol, base price in its quote, quantity range
MARKETS = [
    ("BTC-KRW", 95_000_000, 0.01),
    ("ETH-KRW", 4_500_000, 0.2),
    ("XRP-KRW", 3_000, 300),
    ("LPJ-KRW", 1_000, 1000),
    ("USDT-KRW", 1_400, 500),
    ("BTC-USDT", 65_000, 0.01),
    ("ETH-USDT", 3_200, 0.2),
    ("XRP-USDT", 2, 300),
    ("ETH-BTC", 0.05, 0.2),
    ("XRP-BTC", 0.00003, 300),
]


def admin_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def database_recreate(url: str, drop_only: bool = False, template: str | None = None) -> None:
    """Drops the database of ``url``; unless ``drop_only``, creates it again, empty or as a
    file copy of ``template``."""
    import psycopg
    from psycopg import sql

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if drop_only:
            return
        if template:
            # A pooled connection of this process may still be open on the template.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [template],
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:.1f} s", flush=True)
    return now


def seed(args: argparse.Namespace) -> dict[str, object]:
    """Everything of step 1; returns the handles of a few traders for the API requests."""
    from django.db import connection

    from markets.models import TradingPair
    from orders.models import Fill, Order
    from wallets.models import Account, JournalTransaction, LedgerEntry
    from wallets.seed import asset_seed_defaults
    from wallets.services import wallet_system_account

    started = time.perf_counter()
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pairs: list[TradingPair] = []
    for symbol, _, _ in MARKETS:
        # Bench rows only: steps are not checked (fills are generated, never placed).
        base, quote = symbol.split("-")
        pairs.append(
            TradingPair.objects.create(
                symbol=symbol,
                base=assets[base],
                quote=assets[quote],
                tick_size=Decimal("0.00000001"),
                lot_size=Decimal("0.0001"),
            )
        )
    external = wallet_system_account(kind=Account.Kind.EXTERNAL)
    users = args.users
    first_id = 1000
    user_table = "accounts_user"
    buffer = io.StringIO()
    joined = (END - timedelta(days=args.days + 1)).isoformat()
    for n in range(users):
        uid = first_id + n
        bot = "t" if n % 50 == 0 else "f"
        buffer.write(
            f"{uid}\t!\tf\tu{uid}\t\t\tu{uid}@bench.invalid\tf\tt\t{joined}\tu{uid}\t{bot}\tt\tf\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {user_table} (id, password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined, handle, is_bot, rankings_opt_in,"
            " rankings_excluded) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{user_table}', 'id'), %s)", [first_id + users]
        )
        started = step(f"{users:,} users (COPY)", started)
        account = Account._meta.db_table
        cursor.execute(
            f"INSERT INTO {account} (kind, user_id, created_at) "
            f"SELECT 'user', id, %s FROM {user_table} WHERE id >= %s",
            [joined, first_id],
        )
        order = Order._meta.db_table
        cursor.execute(
            f"INSERT INTO {order} (id, user_id, pair_id, side, type, time_in_force, post_only,"
            " price, quantity, filled_quantity, filled_quote, fee_paid, held, hold_remaining,"
            " status, cancel_reason, stp_mode, created_at, updated_at) "
            f"SELECT id, id, %s, 'buy', 'limit', 'GTC', false, 1, 1, 0, 0, 0, 0, 0, 'filled', '',"
            f" 'expire_taker', %s, %s FROM {user_table} WHERE id >= %s",
            [pairs[0].pk, joined, joined, first_id],
        )
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{order}', 'id'), %s)", [first_id + users]
        )
        fill = Fill._meta.db_table
        # Bulk load into an unlogged table without the secondary indexes and foreign keys, then
        # put back the index the profile's fills read (fill_user_recent); the bench never checks
        # the others. Reads (all the rebuild does with fills) cost the same logged or not.
        # (and the foreign keys to it: an unlogged table cannot be referenced by a logged one)
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE (conrelid = %s::regclass AND contype IN ('f','u')) "
            "OR (confrelid = %s::regclass AND contype = 'f')",
            [fill, fill],
        )
        for table, name in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("DROP INDEX IF EXISTS fill_user_recent")
        cursor.execute(f"ALTER TABLE {fill} SET UNLOGGED")
        started = step("accounts and orders", started)
        _fills_insert(
            cursor,
            pairs,
            args,
            first_id,
            start_seq=1,
            count=args.fills,
            begin=END - timedelta(days=args.days),
            end=END,
        )
        started = step(f"{args.fills:,} fills (generated in PostgreSQL)", started)
        cursor.execute(f"CREATE INDEX fill_user_recent ON {fill} (user_id, id DESC)")
        started = step("fills user index", started)
        _candles_insert(cursor, pairs, END - timedelta(days=args.days), END)
        journal, entry = JournalTransaction._meta.db_table, LedgerEntry._meta.db_table
        krw = assets["KRW"].pk
        flows = users * 3
        cursor.execute(
            f"INSERT INTO {journal} (id, kind, reference, memo, created_at) "
            "SELECT g, CASE WHEN g > %(users)s AND g %% 3 = 2 THEN 'withdrawal' ELSE 'deposit' END,"
            " 'bench', '', "
            "  CASE WHEN g <= %(users)s THEN %(begin)s::timestamptz - interval '1 hour' "
            "       ELSE %(begin)s::timestamptz + random() * (%(end)s::timestamptz - %(begin)s) END "
            "FROM generate_series(1, %(flows)s) g",
            {"users": users, "flows": flows, "begin": END - timedelta(days=args.days), "end": END},
        )
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{journal}', 'id'), %s)", [flows])
        cursor.execute(
            f"INSERT INTO {entry} (journal_id, account_id, asset_id, bucket, amount, balance_after) "
            "SELECT j.id, a.id, %(krw)s, 'available', "
            "  CASE WHEN j.kind = 'withdrawal' THEN -100000 ELSE 10000000 END, 0 "
            f"FROM {journal} j JOIN {account} a ON a.user_id = %(first)s + (j.id - 1) %% %(users)s "
            "UNION ALL "
            "SELECT j.id, %(external)s, %(krw)s, 'available', "
            "  CASE WHEN j.kind = 'withdrawal' THEN 100000 ELSE -10000000 END, 0 "
            f"FROM {journal} j",
            {"krw": krw, "first": first_id, "users": users, "external": external.pk},
        )
        started = step(f"{flows:,} deposits/withdrawals (journals + entries)", started)
        cursor.execute("ANALYZE")
        step("analyze", started)
    return {"pairs": pairs, "first_id": first_id}


def _fills_insert(
    cursor,
    pairs,
    args,
    first_id: int,
    *,
    start_seq: int,
    count: int,
    begin: datetime,
    end: datetime,
) -> None:
    from orders.models import Fill

    ids = [p.pk for p in pairs]
    bases = [float(base) for _, base, _ in MARKETS]
    sizes = [float(size) for _, _, size in MARKETS]
    quotes = [p.quote_id for p in pairs]
    cursor.execute(
        f"INSERT INTO {Fill._meta.db_table} (order_id, user_id, pair_id, engine_seq, side, price,"
        " quantity, quote_quantity, fee, fee_asset_id, liquidity, created_at) "
        "SELECT u, u, (%(ids)s::bigint[])[m], g, CASE WHEN g %% 2 = 0 THEN 'buy' ELSE 'sell' END,"
        "  price, qty, round(price * qty, 8), round(price * qty * 0.001, 8), (%(quotes)s::bigint[])[m],"
        "  CASE WHEN g %% 2 = 0 THEN 'maker' ELSE 'taker' END, at "
        "FROM (SELECT g, m, u, at,"
        "        round(((%(bases)s::float8[])[m] * (1 + 0.2 * sin(extract(epoch FROM at) / 86400.0 / 7 + m)))::numeric, 8) AS price,"
        "        round(((%(sizes)s::float8[])[m] * (0.1 + random()))::numeric, 4) AS qty"
        "      FROM (SELECT g, 1 + (hashint4(g) & 1023) %% 10 AS m,"
        "                   %(first)s + (hashint4(g + 7) & 2147483647) %% %(users)s AS u,"
        "                   %(begin)s::timestamptz + (g - %(seq0)s) * (%(end)s::timestamptz - %(begin)s) / %(count)s AS at"
        "            FROM generate_series(%(seq0)s, %(seq0)s + %(count)s - 1) g) s) f",
        {
            "ids": ids,
            "quotes": quotes,
            "bases": bases,
            "sizes": sizes,
            "first": first_id,
            "users": args.users,
            "begin": begin,
            "end": end,
            "seq0": start_seq,
            "count": count,
        },
    )


def _candles_insert(cursor, pairs, begin: datetime, end: datetime, move: float = 0.0) -> None:
    """Hourly candles from ``begin`` to ``end`` on a slow sine; ``move``: closes that much
    above it (a relative change, as trades move the current hour's candle)."""
    from markets.models import Candle

    bases = [float(base) for _, base, _ in MARKETS]
    cursor.execute(
        f"INSERT INTO {Candle._meta.db_table} (pair_id, interval, bucket, open, high, low, close,"
        " volume, quote_volume, trade_count, first_sequence, last_sequence) "
        "SELECT (%(ids)s::bigint[])[m], '1h', h, c, c, c, c, 100, 100 * c, 100, 0, 0 FROM ("
        "  SELECT m, h, round(((%(bases)s::float8[])[m] * (1 + 0.2 * sin(extract(epoch FROM h + interval '1 hour') / 86400.0 / 7 + m)) * (1 + %(move)s))::numeric, 8) AS c"
        "  FROM generate_series(1, %(n)s) m,"
        "       generate_series(%(begin)s::timestamptz, %(end)s::timestamptz, interval '1 hour') h) x "
        "ON CONFLICT (pair_id, interval, bucket) DO UPDATE SET close = EXCLUDED.close",
        {
            "ids": [p.pk for p in pairs],
            "bases": bases,
            "n": len(pairs),
            "begin": begin,
            "end": end,
            "move": move,
        },
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_latencies(url: str, args: argparse.Namespace, first_id: int) -> dict[str, list[float]]:
    import httpx

    env = dict(
        os.environ,
        DATABASE_URL=url,
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="0",
        RATE_LIMIT_IP_WEIGHT_PER_MINUTE="1000000000",
        RATE_LIMIT_USER_WEIGHT_PER_MINUTE="1000000000",
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"bench-rankings-web-{port}.log", "wb")  # noqa: SIM115
    # Production's layout (docs/scaling.md): compose's gunicorn command serves HTTP; --http asgi:
    # the image's uvicorn command, as make run serves it. One worker either way.
    command = compose_commands()["web1"] if args.http == "wsgi" else dockerfile_command()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and the deployment's arguments
        on_loopback(command, port, workers=1),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(5)
    out: dict[str, list[float]] = {"rankings": [], "trader": []}
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/api/v1/rankings").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"{command[0]} did not answer in 60 s")
                time.sleep(0.3)
            # Handles of ranked traders (cursors too), so profiles exist.
            pages = [None]
            body = client.get("/api/v1/rankings?period=all&limit=200").json()
            handles = [r["trader"] for r in body["results"]] or [f"u{first_id}"]
            if body["next"]:
                pages.append(body["next"])
            handles += [f"u{first_id + rng.randrange(args.users)}" for _ in range(200)]
            for i in range(args.requests + 50):  # the first 50 warm up
                period = rng.choice(["day", "week", "month", "all"])
                sort = rng.choice(["return", "pnl"])
                started = time.perf_counter()
                answer = client.get(f"/api/v1/rankings?period={period}&sort={sort}&limit=50")
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200, answer.text[:200]
                if i >= 50:
                    out["rankings"].append(elapsed)
                handle = rng.choice(handles)
                started = time.perf_counter()
                answer = client.get(f"/api/v1/traders/{handle}")
                elapsed = time.perf_counter() - started
                assert answer.status_code in (200, 404), answer.text[:200]
                if i >= 50:
                    out["trader"].append(elapsed)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fills", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--more-fills", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--db-name", default=DB_NAME, help="the bench's own database")
    parser.add_argument("--keep", action="store_true", help="leave the bench database")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--http",
        choices=("wsgi", "asgi"),
        default="wsgi",
        help="wsgi: production's layout (compose's gunicorn command serves HTTP); asgi: the "
        "image's uvicorn command, as make run serves it",
    )
    parser.add_argument(
        "--template",
        help="a database of seeded fills: cloned when it exists (no seeding), else made from "
        "this run's seed and left in place (to measure changes of the rankings code on the "
        "same data; pass the --fills, --users and --days it was seeded with)",
    )
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "")
    if urlparse(base_url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("DATABASE_URL must name the local PostgreSQL (the bench makes its own db)")
    url = urlunparse(urlparse(base_url)._replace(path=f"/{args.db_name}"))
    cloned = bool(args.template) and database_exists(url, args.template)
    database_recreate(url, template=args.template if cloned else None)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
    print(f"bench database {args.db_name}: migrating", flush=True)
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=dict(os.environ)
    )
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("rankings.sql").setLevel(logging.DEBUG)
    logging.basicConfig(level=logging.WARNING, format="  %(message)s")
    from django.db import connection, transaction

    from rankings.models import (
        LeaderboardPage,
        LeaderboardRow,
        PeriodState,
        Snapshot,
        TraderMark,
    )
    from rankings.services import rankings_rebuild, rankings_refresh

    def more_fills(count: int, begin: datetime, end: datetime, move: float) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            _fills_insert(
                cursor,
                seeded["pairs"],
                args,
                seeded["first_id"],
                start_seq=fill_seq[0],
                count=count,
                begin=begin,
                end=end,
            )
            fill_seq[0] += count
            hour = begin.replace(minute=0, second=0, microsecond=0)
            _candles_insert(cursor, seeded["pairs"], hour, hour, move=move)

    def timed_refresh(label: str, now: datetime) -> float:
        started = time.perf_counter()
        rankings_refresh(now=now)
        elapsed = time.perf_counter() - started
        print(f"{label}: {elapsed:.2f} s", flush=True)
        return elapsed

    load = [os.getloadavg()[0]]
    try:
        if cloned:
            from markets.models import TradingPair

            print(f"cloned from {args.template}: no seeding", flush=True)
            seeded = {"pairs": list(TradingPair.objects.order_by("pk")), "first_id": 1000}
        else:
            print(
                f"seeding {args.fills:,} fills, {args.users:,} users, {args.days} days", flush=True
            )
            seeded = seed(args)
            if args.template:
                connection.close()
                database_recreate(
                    urlunparse(urlparse(url)._replace(path=f"/{args.template}")),
                    template=args.db_name,
                )
        fill_seq = [args.fills + 1]
        print("full rebuild", flush=True)
        started = time.perf_counter()
        rankings_rebuild(now=END)
        rebuild_s = time.perf_counter() - started
        snapshots, states = Snapshot.objects.count(), PeriodState.objects.count()
        print(f"  {rebuild_s:.2f} s ({snapshots:,} snapshots, {states:,} period states)")
        # The rest of the current hour: its fills, and its candles moved (0.5 %), as the beat
        # job finds them; one refresh in the same hour.
        more_fills(args.more_fills, END, END + timedelta(minutes=59), 0.005)
        refresh_s = timed_refresh(
            f"refresh after {args.more_fills:,} more fills",
            END + timedelta(minutes=59, seconds=59),
        )
        # A minute later, still in that hour: a minute's fills and the prices moved again. What
        # the beat job's refresh costs once a minute in steady state, late in an hour.
        minute = args.more_fills // 60
        more_fills(
            minute, END + timedelta(minutes=59), END + timedelta(minutes=59, seconds=30), 0.006
        )
        minute_s = timed_refresh(
            f"refresh a minute later ({minute:,} more fills)",
            END + timedelta(minutes=59, seconds=59, milliseconds=900),
        )
        # The next hour begins (a minute of fills, its candles): the first refresh of an hour,
        # when the previous hour joins the closed hours and every period start moves on.
        next_hour = END + timedelta(hours=1)
        more_fills(args.more_fills // 60, next_hour, next_hour + timedelta(seconds=59), -0.003)
        rollover_s = timed_refresh(
            "first refresh of the next hour", next_hour + timedelta(minutes=1)
        )
        idle_s = timed_refresh("refresh with nothing new", next_hour + timedelta(minutes=2))
        load.append(os.getloadavg()[0])
        # What autovacuum does next after a rebuild wrote 19 M rows (it would run during the
        # requests otherwise): the reads then find the rows' hint bits set and the pages
        # all-visible, as they do once the tables have settled.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Snapshot, PeriodState, LeaderboardRow, TraderMark, LeaderboardPage):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        vacuum_s = time.perf_counter() - started
        print(f"vacuum of the rankings tables: {vacuum_s:.1f} s", flush=True)
        connection.close()
        latencies = http_latencies(url, args, seeded["first_id"])
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            database_recreate(url, drop_only=True)

    cpus = os.cpu_count()
    table = "\n".join(
        [
            "| measure | goal | result |",
            "|---|---|---|",
            f"| full rebuild ({args.fills:,} fills, {args.users:,} users, {args.days} days) "
            f"| <= 60 s | {rebuild_s:.1f} s |",
            f"| one refresh after {args.more_fills:,} more fills (an hour; its prices moved) "
            f"| <= 1 s | {refresh_s:.2f} s |",
            f"| a refresh a minute later ({args.more_fills // 60:,} more fills, prices moved "
            f"again) | - | {minute_s:.2f} s |",
            f"| first refresh of the next hour (periods move on) | - | {rollover_s:.2f} s |",
            f"| a refresh with nothing new | - | {idle_s:.2f} s |",
            f"| vacuum of the rankings tables after it all (autovacuum's next work) | - "
            f"| {vacuum_s:.1f} s |",
            f"| GET /rankings p50 / p99 ({args.requests} sequential) | p99 <= 20 ms "
            f"| {pct(latencies['rankings'], 0.5):.1f} / {pct(latencies['rankings'], 0.99):.1f} ms |",
            f"| GET /traders/{{handle}} p50 / p99 | p99 <= 20 ms "
            f"| {pct(latencies['trader'], 0.5):.1f} / {pct(latencies['trader'], 0.99):.1f} ms |",
        ]
    )
    print(table)
    if not args.no_record:
        server = (
            "compose's gunicorn command, one worker (production's layout)"
            if args.http == "wsgi"
            else "the image's uvicorn command, one worker"
        )
        section = (
            f"{HEADING}\n\n`DATABASE_URL=... .venv/bin/python bench/rankings.py --fills {args.fills}"
            f" --users {args.users} --days {args.days}` on {platform.machine()}, {cpus} cores, "
            f"PostgreSQL local, {datetime.now(UTC):%Y-%m-%d}, load average {load[0]:.1f} at the "
            f"start, {load[1]:.1f} after the refreshes (the machine is shared). {snapshots:,} "
            f"snapshots, {states:,} period states. HTTP: {server}; sequential keep-alive "
            "requests.\n\n"
            f"{table}\n"
        )
        benchmarks_section_write(HEADING, section)
    print(f"RESULT rankings_full_rebuild_s {rebuild_s:.2f} s")


if __name__ == "__main__":
    main()
