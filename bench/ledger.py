"""Ledger postings per second on PostgreSQL: hold + transfer pairs across several accounts.

Usage: ``.venv/bin/python bench/ledger.py [--accounts 50] [--pairs 2000]``.
Uses ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/th_bench_ledger``); the
database is created and migrated if missing, and its wallet tables are emptied first (a bench
database only: never point this at real data).

Each pair is two journals (postings) of 2 entries each, like an order's life: a ``hold`` of one
account's KRW (available -> locked), then a ``trade`` moving it from that locked bucket to another
account's available. Modes:
- ``single``: one ``ledger_post`` call per journal, each in its own transaction (commit each);
- ``services``: the same through ``wallet_hold`` + ``wallet_transfer_locked`` (savepoints);
- ``batch N``: ``ledger_post`` with N journals per call, one transaction per call (what
  settlement does with a batch of fills).
Prints a markdown table, records it in docs/benchmarks.md, and ends with
``RESULT ledger_postings_per_s <batch-500 figure> postings/s``."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import benchmarks_section_write, postgres_database_ensure  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/th_bench_ledger"
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
# Base settings: DEBUG off, so Django does not keep every query in memory.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.base")
HEADING = "## Ledger (bench/ledger.py)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=2000, help="pairs for the single modes")
    args = parser.parse_args()

    postgres_database_ensure(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0, skip_checks=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE wallets_ledgerentry, wallets_journaltransaction, "
            "wallets_deposit, wallets_withdrawal, wallets_balance, wallets_account "
            "RESTART IDENTITY CASCADE"
        )

    from accounts.models import User
    from wallets.ledger import Leg, Posting, ledger_post
    from wallets.models import Asset, Bucket
    from wallets.seed import asset_seed_defaults
    from wallets.services import (
        wallet_account_get,
        wallet_credit,
        wallet_hold,
        wallet_transfer_locked,
    )
    from wallets.verification import ledger_verify

    asset_seed_defaults()
    krw = Asset.objects.get(symbol="KRW")
    accounts = []
    for n in range(args.accounts):
        user, _ = User.objects.get_or_create(
            username=f"bench_ledger_{n}",
            defaults={"email": f"bench_ledger_{n}@example.com", "handle": f"bench_ledger_{n}"},
        )
        account = wallet_account_get(user=user)
        with transaction.atomic():
            wallet_credit(
                account=account, asset=krw, amount=Decimal(10) ** 12, reference="bench:fund"
            )
        accounts.append(account)
    rng = random.Random(7)

    def pair(i: int) -> tuple[Posting, Posting]:
        source, target = rng.sample(accounts, 2)
        amount = Decimal(rng.randint(1, 10_000))
        hold = Posting(
            "hold",
            f"order:{i}",
            [
                Leg(source.pk, krw.pk, Bucket.AVAILABLE, -amount),
                Leg(source.pk, krw.pk, Bucket.LOCKED, amount),
            ],
        )
        trade = Posting(
            "trade",
            f"fill:{i}",
            [
                Leg(source.pk, krw.pk, Bucket.LOCKED, -amount),
                Leg(target.pk, krw.pk, Bucket.AVAILABLE, amount),
            ],
        )
        return hold, trade

    rows: list[tuple[str, int, float]] = []

    postings = [p for i in range(args.pairs) for p in pair(i)]
    start = time.perf_counter()
    for posting in postings:
        with transaction.atomic():
            ledger_post(postings=[posting])
    rows.append(
        ("single (1 journal per call and commit)", len(postings), time.perf_counter() - start)
    )

    jobs = [
        (rng.sample(accounts, 2), Decimal(rng.randint(1, 10_000))) for _ in range(args.pairs // 2)
    ]
    start = time.perf_counter()
    for i, ((source, target), amount) in enumerate(jobs):
        with transaction.atomic():
            wallet_hold(account=source, asset=krw, amount=amount, reference=f"order:{i}")
        with transaction.atomic():
            wallet_transfer_locked(
                from_account=source,
                to_account=target,
                asset=krw,
                amount=amount,
                reference=f"fill:{i}",
            )
    rows.append(
        (
            "services (wallet_hold + wallet_transfer_locked)",
            2 * len(jobs),
            time.perf_counter() - start,
        )
    )

    for size, total_pairs in ((100, 20 * args.pairs // 2), (500, 25 * args.pairs // 2)):
        postings = [p for i in range(total_pairs) for p in pair(i)]
        start = time.perf_counter()
        for offset in range(0, len(postings), size):
            with transaction.atomic():
                ledger_post(postings=postings[offset : offset + size])
        rows.append(
            (f"batch of {size} journals per call", len(postings), time.perf_counter() - start)
        )

    problems = ledger_verify()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = [
        HEADING,
        "",
        f"Run {date}; PostgreSQL, {args.accounts} accounts, KRW; a posting is one journal "
        "of 2 entries (hold, then trade from locked to another account).",
        "",
        "| mode | postings | seconds | postings/s | entries/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, count, seconds in rows:
        table.append(
            f"| {mode} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} | "
            f"{2 * count / seconds:,.0f} |"
        )
    headline = rows[-1][1] / rows[-1][2]
    table += [
        "",
        f"ledger_verify after the run: {'clean' if not problems else f'{len(problems)} problems'}.",
        "",
    ]
    text = "\n".join(table)
    print(text)
    benchmarks_section_write(HEADING, text)
    if problems:
        for problem in problems[:10]:
            print(problem)
        sys.exit(1)
    print(f"RESULT ledger_postings_per_s {headline:.0f} postings/s")


if __name__ == "__main__":
    main()
