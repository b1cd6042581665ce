"""Log volume per 1,000 orders, with the production JSON format, before and after the cut.

Usage: ``.venv/bin/python bench/log_volume.py [--orders 1000] [--no-record]``. In process (no
server): Django's test client places ``--orders`` orders on LPJ-KRW through POST /api/v1/orders
as a signed-in user, a fifth of them refused (insufficient funds, bad tick, unknown market),
and counts the lines and bytes every logger wrote. "Before" logs ``django.request`` at WARNING,
as Django does by default: one line per 4xx answer; "after" is the project's setting (ERROR:
4xx answers are counted in ``tradehive_http_request_duration_seconds`` by route and status,
refused orders in ``tradehive_orders_refused_total`` by reason, and rate-limit refusals in
``AbuseRecord``). Stores: ``DATABASE_URL``'s server, database ``th_bench_logs`` (emptied), Redis
``TH_BENCH_REDIS_URL`` (default db 11, flushed)."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import secrets
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import bench_database_url, benchmarks_section_write  # noqa: E402

HEADING = "## Log volume (bench/log_volume.py)"


def orders(count: int, rng: random.Random) -> list[dict[str, str]]:
    bodies = []
    for i in range(count):
        body = {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "1"}
        roll = rng.random()
        if roll < 0.07:
            body["quantity"] = "100000000"  # insufficient funds
            body["price"] = "10000"
        elif roll < 0.14:
            body["price"] = "10000.5"  # not on the tick
        elif roll < 0.20:
            body["symbol"] = "NOPE-KRW"
            body["price"] = "10000"
        else:
            body["price"] = str(9000 + i % 500)
        bodies.append(body)
    return bodies


def measure(
    client, bodies: list[dict[str, str]], request_level: str | None
) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from django.conf import settings

    from tradehive.log_format import RequestIdFilter

    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    factory = formatter_config.pop("()")
    module, _, name = factory.rpartition(".")
    handler.setFormatter(getattr(__import__(module, fromlist=[name]), name)(**formatter_config))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    request_logger = logging.getLogger("django.request")
    configured = request_logger.level
    if request_level is not None:
        request_logger.setLevel(request_level)
    refused = 0
    try:
        for body in bodies:
            answer = client.post(
                "/api/v1/orders", json.dumps(body), content_type="application/json"
            )
            refused += answer.status_code >= 400
    finally:
        root.handlers = saved
        request_logger.setLevel(configured)
    text = stream.getvalue()
    return len(text.splitlines()), len(text.encode()), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = bench_database_url("th_bench_logs")
    os.environ["REDIS_URL"] = os.environ.get("TH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["RATE_LIMIT_USER_ORDERS_PER_10S"] = "100000000"
    os.environ["RATE_LIMIT_USER_WEIGHT_PER_MINUTE"] = "100000000"
    os.environ["RATE_LIMIT_IP_WEIGHT_PER_MINUTE"] = "100000000"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.services import user_create
    from markets.services import pair_seed_defaults
    from settlement.recovery import engine_recover
    from tradehive.redis_client import get_redis
    from wallets.models import Asset
    from wallets.seed import asset_seed_defaults
    from wallets.services import wallet_account_get, wallet_credit

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        keep = {"django_migrations", "django_content_type", "auth_permission"}
        tables = [name for (name,) in cursor.fetchall() if name not in keep]
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    get_redis().flushdb()
    asset_seed_defaults()
    pairs = {p.symbol: p for p in pair_seed_defaults()}
    engine_recover(pair=pairs["LPJ-KRW"])
    user = user_create(
        username="logbench", email="l@bench.invalid", password=secrets.token_urlsafe(16)
    )
    wallet_credit(
        account=wallet_account_get(user=user),
        asset=Asset.objects.get(symbol="KRW"),
        amount=Decimal("10000000000"),
        reference="bench",
    )
    client = Client()
    client.force_login(user)
    rows = []
    for label, level in (
        ("before: django.request at WARNING", "WARNING"),
        ("after: the project's LOGGING", None),
    ):
        lines, size, refused = measure(client, orders(args.orders, random.Random(7)), level)
        per = 1000 / args.orders
        rows.append((label, lines * per, size * per, refused))
        print(
            f"{label:<36} {lines * per:8.0f} lines  {size * per / 1024:8.1f} KiB per 1,000 orders"
            f"  ({refused} of {args.orders} refused)",
            flush=True,
        )
    cut = 1 - rows[1][2] / rows[0][2] if rows[0][2] else 0.0
    table = "\n".join(
        ["| logging | lines / 1,000 orders | KiB / 1,000 orders |", "|---|---:|---:|"]
        + [f"| {label} | {lines:,.0f} | {size / 1024:,.1f} |" for label, lines, size, _ in rows]
    )
    print(table)
    print(f"RESULT log_volume_cut {100 * cut:.0f} %")
    if not args.no_record:
        benchmarks_section_write(
            HEADING,
            f"{HEADING}\n\n`.venv/bin/python bench/log_volume.py --orders {args.orders}` on "
            f"{datetime.now(UTC):%Y-%m-%d}: JSON lines (LOG_FORMAT=json), {rows[0][3]} of "
            f"{args.orders} orders refused (insufficient funds, off-tick price, unknown market)."
            f" Cut: {100 * cut:.0f} % of the bytes.\n\n{table}\n",
        )


if __name__ == "__main__":
    main()
