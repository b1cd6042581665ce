"""Copy trading: one leader, many followers; the time from the leader's fill being settled to
every follower's copy being placed, and what settlement does meanwhile.

Usage: ``.venv/bin/python bench/copy_trading.py [--followers 1000] [--rounds 20] [--warmup 1]
[--no-record]``.

Own stores only: PostgreSQL ``TH_BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/th_bench_copy``; created and migrated when missing, every
app table emptied at start: never point it at real data) and Redis ``TH_BENCH_REDIS_URL``
(default ``redis://127.0.0.1:6379/10``; FLUSHDB of that db at start).

1. Seeds LPJ-KRW (tick 1, lot 1, minimum 1,000 KRW), a maker resting deep asks at 1,000, a
   public leader with 1,000,000 KRW and ``--followers`` followers allocating 1,000,000 KRW each
   (fixed ratio, through ``subscription_create``).
2. Starts the real processes: ``manage.py settle`` and a Celery worker (threads, as ``make
   run``'s), which mirrors leader fills off settlement's path.
3. ``--rounds`` times, the leader buys 10 LPJ at 1,000 (1 % of their equity, so each follower's
   copy is 10 LPJ) and the bench waits for every copy to be filled, after ``--warmup`` such
   fills not counted (default 1: the worker's first tasks open database connections and
   prepare statements; their figure is printed apart). Per round, on the
   database's clock: **committed** = the end of the intent's last part (every copy placed,
   held and queued for the engine: ``CopyIntent.done_at``) minus the intent's creation (in
   the settlement transaction that settled the leader's fill); **settled** = the last copy's fill
   settled (its order's ``updated_at``) minus the same start.
4. Prints p50/p90/p99/max of both, fills settled per second while the copies flow, writes the
   table under its heading in docs/benchmarks.md and ends with
   ``RESULT copy_placed_p99_ms <value> ms``."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    benchmarks_section_write,
    process_start,
    process_stop,
    stores_reset,
)

DATABASE_URL = os.environ.get(
    "TH_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/th_bench_copy"
)
REDIS_URL = os.environ.get("TH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    DJANGO_SETTINGS_MODULE="tradehive.settings.base",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
HEADING = "## Copy trading (bench/copy_trading.py)"
D = Decimal


def seed(followers: int) -> tuple[object, list[object]]:
    from django.test import override_settings

    from accounts.services import user_create
    from copytrading.services import CopyTerms, leader_start, subscription_create
    from markets.services import pair_create
    from orders.services import order_place
    from settlement.services import settlement_group_ensure
    from tradehive.redis_client import get_redis
    from wallets.models import Asset
    from wallets.seed import asset_seed_defaults
    from wallets.services import wallet_account_get, wallet_credit

    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=D(1),
        lot_size=D(1),
        min_notional=D(1000),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)

    def user(name: str, **funds: str):  # type: ignore[no-untyped-def]
        made = user_create(
            username=name, email=f"{name}@bench.invalid", password=secrets.token_hex(16)
        )
        for symbol, amount in funds.items():
            wallet_credit(
                account=wallet_account_get(user=made),
                asset=Asset.objects.get(symbol=symbol),
                amount=D(amount),
                reference="bench",
            )
        return made

    maker = user("maker", LPJ="100000000")
    leader = user("leader", KRW="1000000")
    leader.rankings_opt_in = True
    leader.save(update_fields=["rankings_opt_in"])
    leader_start(user=leader, profit_share_rate=D("0.1"), max_followers=followers)
    started = time.perf_counter()
    subs = []
    # The followers never log in: a fast hasher keeps seeding to seconds, not minutes.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for n in range(followers):
            follower = user(f"follower{n}", KRW="1000000")
            subs.append(
                subscription_create(
                    follower=follower,
                    leader_handle=leader.handle,
                    amount=D(1000000),
                    terms=CopyTerms(),
                )
            )
    print(f"seeded {followers} followers in {time.perf_counter() - started:.1f} s", flush=True)
    for _ in range(10):  # deep asks at 1,000 for the leader and every copy
        order_place(
            user=maker,
            symbol=pair.symbol,
            side="sell",
            type="limit",
            quantity=D(1000000),
            price=D(1000),
        )
    return leader, subs


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    stores_reset(DATABASE_URL, REDIS_URL)
    leader, subs = seed(args.followers)

    from django.conf import settings
    from django.db.models import Count, Max

    from copytrading.models import CopyIntent, CopyOrder
    from orders.models import Fill
    from orders.services import order_place

    logdir = Path(tempfile.mkdtemp(prefix="th-bench-copy-"))
    python = sys.executable
    processes = [
        process_start("settle", [python, "manage.py", "settle"], logdir),
        process_start(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "tradehive",
                "worker",
                "-P",
                "threads",
                "-c",
                "8",
                "-l",
                "warning",
            ],
            logdir,
        ),
    ]
    committed: list[float] = []
    settled: list[float] = []
    warmup: list[float] = []
    try:
        time.sleep(4)  # the processes start
        for round_ in range(-args.warmup, args.rounds):
            if round_ == 0:  # the warm-up fills are done: measure from here
                load_before = os.getloadavg()[0]
                fills_before, clock = Fill.objects.count(), time.perf_counter()
            leader_order = order_place(
                user=leader,
                symbol="LPJ-KRW",
                side="buy",
                type="limit",
                quantity=D(10),
                price=D(1000),
            )
            # This round's intents (one per fill of the leader's order), every part done, and
            # every copy of them filled.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                intents = list(CopyIntent.objects.filter(leader_order=leader_order))
                if intents and all(i.status == "done" for i in intents):
                    copies = CopyOrder.objects.filter(intent__in=intents, status="placed")
                    done = copies.filter(order__status="filled").aggregate(
                        n=Count("id"), last=Max("order__updated_at")
                    )
                    if done["n"] == len(subs) * len(intents):
                        break
                time.sleep(0.02)
            else:
                sys.exit(f"round {round_}: copies not all filled in 120 s; logs in {logdir}")
            start = min(i.created_at for i in intents)
            end = max(i.done_at for i in intents if i.done_at is not None)
            figures = (
                (end - start).total_seconds() * 1000,
                (done["last"] - start).total_seconds() * 1000,
            )
            if round_ < 0:
                warmup.append(figures[0])
            else:
                committed.append(figures[0])
                settled.append(figures[1])
            print(
                f"{'warm-up' if round_ < 0 else 'round'} {round_ + 1}: committed"
                f" {figures[0]:.0f} ms, settled {figures[1]:.0f} ms",
                flush=True,
            )
        elapsed = time.perf_counter() - clock
        fills_per_s = (Fill.objects.count() - fills_before) / elapsed
        load_after = os.getloadavg()[0]
    finally:
        for process in processes:
            process_stop(process)
    skipped = CopyOrder.objects.filter(status="skipped").count()
    rows = [
        ("copies committed (placed, held, queued for the engine)", committed),
        ("copies settled (the last copy's fill applied)", settled),
    ]
    table = [
        f"One leader, {args.followers} followers (fixed ratio), {args.rounds} leader fills"
        " of 10 LPJ; "
        f"each fill mirrored in parts of {settings.COPY_MIRROR_CHUNK} followers; "
        f"settle x1 and a Celery worker (threads x8) on this {os.cpu_count()}-core machine; "
        f"{skipped} copies skipped; load average (1 min) {load_before:.1f} before,"
        f" {load_after:.1f} after.",
        "",
        "| from the leader's fill settled to | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    if warmup:
        table[1:1] = [
            "",
            f"Not counted: {len(warmup)} warm-up fill(s) first (the worker's first tasks open"
            " database connections and prepare their statements): committed in "
            + ", ".join(f"{v:.0f}" for v in warmup)
            + " ms.",
        ]
    for name, values in rows:
        figures = [median(values), pct(values, 90), pct(values, 99), max(values)]
        table.append(f"| {name} | " + " | ".join(f"{v:.0f}" for v in figures) + " |")
    table += [
        "",
        f"Fills settled per second while the copies flowed: {fills_per_s:.0f} (2 per trade).",
    ]
    text = "\n".join(table)
    print(text)
    if not args.no_record:
        command = (
            "`.venv/bin/python bench/copy_trading.py"
            f" --followers {args.followers} --rounds {args.rounds}`"
        )
        benchmarks_section_write(HEADING, f"{HEADING}\n\n{command}\n\n{text}\n")
    print(f"RESULT copy_placed_p99_ms {pct(committed, 99):.0f} ms")


if __name__ == "__main__":
    main()
