"""A real primary and a real streaming standby: public market data is read from the standby,
orders are written to the primary, and a stopped or lagging standby falls back to the primary.

The primary is a throw-away cluster made with ``initdb`` and migrated; the standby is a
``pg_basebackup -R`` copy of it (tradehive/testing/postgres.py), both on ports 7200-7299. One
Django process (a fresh interpreter, ``DATABASE_URL`` = the primary, ``DATABASE_REPLICA_URL`` =
the standby, so the settings' own parsing is exercised) serves requests through Django's test
client, each in a fresh context as a new request has, while this test stops, restarts and pauses
the standby between its steps (one JSON line out, one line in per step). Which server answered a
request is read from the queries each connection logged, and what each server is from
``pg_is_in_recovery()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tradehive.testing.postgres import Server, free_port_in, throwaway_root
from tradehive.testing.processes import ROOT

pytestmark = pytest.mark.integration

# The Django process. Each step prints one JSON line, then waits for a line on stdin.
CHILD = r"""
import contextvars, json, sys, time
from decimal import Decimal

import django
django.setup()

from django.db import connections
from django.test import Client
from prometheus_client import REGISTRY

from accounts.services import user_create
from markets.services import pair_create
from orders.models import Order
from orders.services import order_place
from settlement.services import settlement_group_ensure
from tradehive.db_router import reads_replica
from tradehive.redis_client import get_redis
from wallets.models import Asset
from wallets.seed import asset_seed_defaults
from wallets.services import wallet_account_get, wallet_credit

client = Client(SERVER_NAME="127.0.0.1")
MARKET_DATA = ["/api/v1/markets", "/api/v1/markets/LPJ-KRW/trades", "/api/v1/markets/LPJ-KRW"]


def step(report):
    print(json.dumps(report), flush=True)
    sys.stdin.readline()


def in_recovery(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


def fallbacks(reason):
    value = REGISTRY.get_sample_value(
        "tradehive_db_replica_fallback_reads_total", {"reason": reason}
    )
    return value or 0.0


def ask():
    # Each request in an empty context (a new request); the queries each connection logged
    # are counted after each request (Django empties the logs when a request starts).
    served = {"default": 0, "replica": 0}
    statuses = []
    for alias in served:
        connections[alias].force_debug_cursor = True
    for path in MARKET_DATA:
        statuses.append(contextvars.Context().run(client.get, path).status_code)
        for alias in served:
            served[alias] += sum("markets_" in q["sql"] for q in connections[alias].queries_log)
    return {"statuses": statuses, "served": served}


# 1. Writes: a market, a funded trader and an order, in this (the first) request.
assets = {a.symbol: a for a in asset_seed_defaults()}
pair = pair_create(
    base=assets["LPJ"], quote=assets["KRW"], tick_size=Decimal(1), lot_size=Decimal(1),
    min_notional=Decimal(1000), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.002"),
    actor=None,
)
settlement_group_ensure(get_redis(), pair.symbol)
user = user_create(username="reader", email="reader@example.com", password="a-long-test-password")
wallet_credit(account=wallet_account_get(user=user), asset=Asset.objects.get(symbol="KRW"),
              amount=Decimal(100000), reference="test-deposit")
connections["replica"].ensure_connection()  # time the replication, not the first connection
order = order_place(user=user, symbol="LPJ-KRW", side="buy", type="limit",
                    quantity=Decimal(2), price=Decimal(1000))
with reads_replica():
    pinned = Order.objects.all().db  # read-your-writes: this request just wrote
placed_at = time.monotonic()
on_primary = Order.objects.using("default").filter(pk=order.pk).exists()
while not Order.objects.using("replica").filter(pk=order.pk).exists():
    assert time.monotonic() - placed_at < 20, "the order never reached the standby"
    time.sleep(0.002)
step({
    "replicated_ms": (time.monotonic() - placed_at) * 1000,
    "order_on_primary": on_primary, "pinned_alias": pinned,
    "recovery": {"default": in_recovery("default"), "replica": in_recovery("replica")},
    **ask(),
})

# 2. The test stopped the standby: a read that meets it dead is rerun on the primary ("error"),
# later reads go to the primary at once ("down").
before = fallbacks("down") + fallbacks("error")
stopped_at = time.monotonic()
report = ask()
step({
    **report,
    "fallbacks": fallbacks("down") + fallbacks("error") - before,
    "requests_ms": (time.monotonic() - stopped_at) * 1000,
})

# 3. The test started it again: after DATABASE_REPLICA_RETRY_S, once its receiver streams
# again (until then its lag is unknown: the primary), every read is the replica's again.
back_at = time.monotonic()
report = ask()
while report["served"]["default"] > 0 and time.monotonic() - back_at < 10:
    time.sleep(0.2)
    report = ask()
step({**report, "after_s": time.monotonic() - back_at})

# 4. The test paused replay on the standby and wrote on the primary: the lag grows past
# DATABASE_REPLICA_MAX_LAG_S, seen at the router's next lag reading (at most 1 s later).
before = fallbacks("lag")
time.sleep(1.2)
report = ask()
step({**report, "fallbacks_lag": fallbacks("lag") - before})
"""


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    """A migrated primary and its running standby (as of the migration)."""
    with throwaway_root() as root:
        primary = Server.init(root / "primary", port=free_port_in(7200, 7299))
        primary.start()
        try:
            primary.psql("CREATE DATABASE tradehive")
            migrate = subprocess.run(  # noqa: S603 - our interpreter and manage.py
                [sys.executable, "manage.py", "migrate", "-v0"],
                cwd=ROOT,
                env=_env(primary, None),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert migrate.returncode == 0, migrate.stderr
            standby = primary.standby(root / "standby", port=free_port_in(7200, 7299))
            standby.start()
            try:
                yield primary, standby
            finally:
                standby.stop("immediate")
        finally:
            primary.stop("immediate")


def _env(primary: Server, standby: Server | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": primary.url("tradehive", application_name="th-primary"),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "tradehive.settings.test",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_REPLICA_RETRY_S": "1",
        "DATABASE_REPLICA_MAX_LAG_S": "0.5",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    if standby is not None:
        env["DATABASE_REPLICA_URL"] = standby.url("tradehive", application_name="th-replica")
    return env


class Child:
    """The Django process, stepped: ``next()`` reads its report, ``go()`` lets it continue."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter and the code above
            [sys.executable, "-c", CHILD],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def next(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise AssertionError(f"the Django process ended: {self.stderr()}")
        return dict(json.loads(line))

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        _, err = self.process.communicate(timeout=10)
        return err


def test_market_data_reads_the_standby_and_falls_back_to_the_primary(servers, redis_client):
    primary, standby = servers
    started = time.monotonic()
    child = Child(_env(primary, standby))
    try:
        # when the process has written (order placement) and asks the public market data
        written = child.next()

        # then the order is on the primary (the standby is read-only), this request's own
        # marked read stayed on the primary, and a new request's reads are the standby's
        assert written["recovery"] == {"default": False, "replica": True}
        assert written["order_on_primary"] is True
        assert written["replicated_ms"] < 5000
        assert written["pinned_alias"] == "default"
        assert written["statuses"] == [200, 200, 200]
        assert written["served"]["replica"] >= 3
        assert written["served"]["default"] == 0

        # when the standby stops
        standby.stop("fast")
        child.go()
        stopped = child.next()

        # then the same requests answer from the primary, no error, each read counted (the
        # first may have met the dead connection on the replica: then it was rerun)
        assert stopped["statuses"] == [200, 200, 200]
        assert stopped["served"]["replica"] <= 1
        assert stopped["served"]["default"] >= 3
        assert stopped["fallbacks"] >= 3
        assert stopped["requests_ms"] < 5000  # at most one connection attempt's timeout

        # when it is back, then it is read again after the retry delay
        standby.start()
        child.go()
        back = child.next()
        assert back["statuses"] == [200, 200, 200]
        assert back["served"]["default"] == 0
        assert back["served"]["replica"] >= 3
        assert back["after_s"] < 5

        # when replay stops on the standby while the primary writes, then the lag sends reads
        # to the primary
        standby.psql("SELECT pg_wal_replay_pause()", "tradehive")
        primary.psql("CREATE TABLE lag_marker AS SELECT 1 AS one", "tradehive")
        child.go()
        lagging = child.next()
        assert lagging["statuses"] == [200, 200, 200]
        assert lagging["served"]["replica"] == 0
        assert lagging["fallbacks_lag"] >= 3
        child.go()
        assert child.process.wait(timeout=20) == 0
    finally:
        log = child.stderr()
        standby.psql("SELECT pg_wal_replay_resume()", "tradehive") if _running(standby) else None
    assert "marked reads use the primary for 1 s" in log
    assert "database replica lags" in log
    assert time.monotonic() - started < 40


def _running(server: Server) -> bool:
    return (Path(server.data) / "postmaster.pid").exists()
