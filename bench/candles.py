"""How many trades per second the candle + ticker write path absorbs.

Standalone, against PostgreSQL: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/candles.py``. It creates (if missing)
and migrates its own database ``th_bench_candles`` on that server, and uses ``REDIS_URL`` (give it
a scratch Redis db: it writes ``ticker:BENCH-KRW``).

Each batch is what settlement does per stream read: one transaction that calls
``trades_record`` (bulk INSERT of the trades + one upsert of every candle they touch), and after
commit the ticker recompute + Redis write. Trades arrive ~20 per second of market time, so
batches span bucket boundaries like real ones. Prints a markdown table, replaces its section of
docs/benchmarks.md and ends with ``RESULT candle_trades_per_s <batch-100 figure> trades/s``."""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import bench_database_url, benchmarks_section_write  # noqa: E402

BENCH_DB = "th_bench_candles"
HEADING = "## Candles and ticker (bench/candles.py)"
# batch size -> trades to record (enough batches for a stable rate, bounded in time)
PLAN = {1: 3000, 100: 30000, 1000: 60000}
HEADLINE_BATCH = 100


def main() -> None:
    os.environ["DATABASE_URL"] = bench_database_url(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from markets.models import Candle, Trade, TradingPair
    from markets.services import TradeInput, trades_record
    from markets.ticker import ticker_key
    from tradehive.redis_client import get_redis
    from wallets.models import Asset

    call_command("migrate", verbosity=0)
    base, _ = Asset.objects.get_or_create(
        symbol="BENCH", defaults={"name": "Bench coin", "decimals": 8}
    )
    quote, _ = Asset.objects.get_or_create(
        symbol="KRW", defaults={"name": "Korean won", "decimals": 0}
    )
    pair, _ = TradingPair.objects.get_or_create(
        symbol="BENCH-KRW",
        defaults={
            "base": base,
            "quote": quote,
            "tick_size": Decimal(1),
            "lot_size": Decimal("0.0001"),
        },
    )
    pair = TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)
    Candle.objects.filter(pair=pair).delete()
    Trade.objects.filter(pair=pair).delete()
    get_redis().ping()

    rng = random.Random(7)
    sequence = 0
    market_time = datetime.now(UTC) - timedelta(hours=20)
    price = 50_000_000
    rows = []
    for batch_size, total in PLAN.items():
        batches = total // batch_size
        started = time.perf_counter()
        for _ in range(batches):
            trades = []
            for _ in range(batch_size):
                sequence += 1
                market_time += timedelta(milliseconds=rng.randint(1, 100))
                price = max(1000, price + rng.randint(-3, 3) * 1000)
                trades.append(
                    TradeInput(
                        sequence=sequence,
                        created_at=market_time,
                        price=Decimal(price),
                        quantity=Decimal(rng.randint(1, 5000)) / 10000,
                        taker_side=rng.choice(("buy", "sell")),
                    )
                )
            with transaction.atomic():
                trades_record(pair=pair, trades=trades)
        elapsed = time.perf_counter() - started
        rate = batches * batch_size / elapsed
        rows.append((batch_size, batches * batch_size, elapsed, rate, elapsed / batches * 1000))
        print(f"batch {batch_size}: {rate:,.0f} trades/s", file=sys.stderr)

    # the path wrote what it should: every trade once in each interval's candles
    recorded = Trade.objects.filter(pair=pair).count()
    for interval in ("1m", "1d"):
        counted = sum(
            Candle.objects.filter(pair=pair, interval=interval).values_list(
                "trade_count", flat=True
            )
        )
        assert counted == recorded == sequence, (interval, counted, recorded)
    get_redis().delete(ticker_key(pair.symbol))

    pg_version = connection.cursor().connection.info.server_version
    table = [
        f"{HEADING}",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"PostgreSQL {pg_version // 10000}.{pg_version % 100}, {os.cpu_count()} CPUs. "
        "One transaction per batch: `trades_record` (bulk insert of the trades + one upsert of "
        "every candle of the 6 intervals they touch), then after commit the 24h ticker "
        "recompute and Redis write. Checked afterwards: every trade counted once per interval.",
        "",
        "| batch size | trades | seconds | trades/s | ms per batch |",
        "|---:|---:|---:|---:|---:|",
    ]
    table += [
        f"| {size} | {count} | {secs:.2f} | {rate:,.0f} | {ms:.2f} |"
        for size, count, secs, rate, ms in rows
    ]
    headline = next(rate for size, _, _, rate, _ in rows if size == HEADLINE_BATCH)
    table += [
        "",
        f"Headline (batch of {HEADLINE_BATCH}, a typical settlement read): "
        f"{headline:,.0f} trades/s.",
        "",
    ]
    text = "\n".join(table)
    print(text)
    benchmarks_section_write(HEADING, text)
    print(f"RESULT candle_trades_per_s {headline:.0f} trades/s")


if __name__ == "__main__":
    main()
