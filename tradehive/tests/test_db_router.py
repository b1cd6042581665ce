"""The database router's rules (tradehive/db_router.py): which alias a read or a write uses.

The ``replica`` alias here is a second, real connection to the test database (with its own
``application_name``), added for each test: the rules are about which connection a query goes
to, and a replica that cannot be reached is a real closed port. Streaming replication itself is
exercised in test_db_replica.py. Marked reads run in a fresh ``contextvars`` context, as a new
request does: the test's own context has just written its fixtures (read-your-writes)."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.db import connection, connections, router, transaction
from prometheus_client import REGISTRY

from markets.models import TradingPair
from tradehive import db_router
from tradehive.db_router import PRIMARY, REPLICA, read_alias, reads_primary, reads_replica
from tradehive.testing.postgres import alias_settings, connection_added, free_port_in

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")


def in_new_request(action: Callable[[], T]) -> T:
    """Run ``action`` in an empty context: nothing this test's context wrote pins it."""
    return contextvars.Context().run(action)


def application_name(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_setting('application_name')")
        return str(cursor.fetchone()[0])


def fallback_reads(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradehive_db_replica_fallback_reads_total", {"reason": reason}
    )
    return value or 0.0


@pytest.fixture
def replica(settings) -> Iterator[None]:
    """A reachable replica: the test database through its own connection."""
    db_router.health.reset()
    settings.DATABASE_REPLICA_URL = "postgres://the-test-database-again"
    with connection_added(
        REPLICA,
        alias_settings(OPTIONS={"application_name": "th-replica"}, TEST={"MIRROR": PRIMARY}),
    ):
        db_router.primary_writes_watch()
        yield
    db_router.health.reset()


@pytest.fixture
def dead_replica(settings) -> Iterator[int]:
    """A replica whose port nothing listens on; yields the port."""
    db_router.health.reset()
    settings.DATABASE_REPLICA_URL = "postgres://nothing-listens"
    port = free_port_in(7200, 7299)
    dead = alias_settings(
        HOST="127.0.0.1",
        PORT=port,
        OPTIONS={"connect_timeout": 1, "pool": {"min_size": 1, "max_size": 2, "timeout": 1}},
        TEST={"MIRROR": PRIMARY},
    )
    with connection_added(REPLICA, dead):
        db_router.primary_writes_watch()
        yield port
    db_router.health.reset()


def marked_read_alias() -> str:
    with reads_replica():
        return TradingPair.objects.all().db


def test_without_a_replica_every_read_uses_the_primary(lpj_krw):
    # given no DATABASE_REPLICA_URL (the test settings' default)
    assert not settings.DATABASE_REPLICA_URL
    assert REPLICA not in settings.DATABASES

    # when a marked read runs, then it reads the primary
    assert in_new_request(marked_read_alias) == PRIMARY


def test_a_marked_read_uses_the_replica(replica, lpj_krw):
    # when
    def read() -> tuple[str, list[str]]:
        with reads_replica():
            pairs = TradingPair.objects.all()
            return pairs.db, [pair.symbol for pair in pairs]

    alias, symbols = in_new_request(read)

    # then the query ran on the replica's connection and saw the committed market
    assert alias == REPLICA
    assert symbols == ["LPJ-KRW"]
    assert application_name(REPLICA) == "th-replica"


def test_unmarked_reads_and_all_writes_use_the_primary(replica, lpj_krw):
    # when / then: a read outside reads_replica
    assert in_new_request(lambda: TradingPair.objects.all().db) == PRIMARY

    # ... and writes, marked or not
    def write() -> str:
        with reads_replica():
            return str(router.db_for_write(TradingPair))

    assert in_new_request(write) == PRIMARY


def test_a_marked_read_inside_a_transaction_uses_the_primary(replica, lpj_krw):
    def read_in_transaction() -> str:
        with transaction.atomic(), reads_replica():
            return TradingPair.objects.all().db

    assert in_new_request(read_in_transaction) == PRIMARY


def test_after_a_write_the_same_request_reads_the_primary(replica, lpj_krw, settings):
    # given a short read-your-writes window
    settings.DATABASE_REPLICA_PIN_S = 0.3

    def write_then_read() -> tuple[str, str]:
        TradingPair.objects.filter(pk=lpj_krw.pk).update(display_order=7)
        just_after = marked_read_alias()
        time.sleep(0.35)
        return just_after, marked_read_alias()

    # when
    just_after, later = in_new_request(write_then_read)

    # then the write pins the request's reads to the primary for the window, not longer
    assert just_after == PRIMARY
    assert later == REPLICA


def test_a_raw_sql_write_pins_too(replica, lpj_krw):
    def raw_write_then_read() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE markets_tradingpair SET display_order = 3 WHERE id = %s",
                [lpj_krw.pk],
            )
        return marked_read_alias()

    assert in_new_request(raw_write_then_read) == PRIMARY
    # another request did not write: it reads the replica
    assert in_new_request(marked_read_alias) == REPLICA


def test_raw_sql_reads_follow_the_router(replica, lpj_krw):
    def raw_alias() -> tuple[str, str]:
        with reads_replica():
            alias = read_alias(TradingPair)
            return alias, application_name(alias)

    assert in_new_request(raw_alias) == (REPLICA, "th-replica")
    assert in_new_request(lambda: read_alias(TradingPair)) == PRIMARY


def test_migrations_run_only_on_the_primary(replica):
    assert router.allow_migrate(PRIMARY, "markets", model_name="tradingpair")
    assert not router.allow_migrate(REPLICA, "markets", model_name="tradingpair")


def test_public_market_data_and_rankings_are_read_from_the_replica(replica, lpj_krw, api_client):
    # given every query of both connections recorded
    logged: dict[str, list[str]] = {PRIMARY: [], REPLICA: []}
    for alias in logged:
        connections[alias].force_debug_cursor = True

    # when the public endpoints are asked (Django empties the logs as each request starts)
    def ask(path: str) -> int:
        status = api_client.get(path).status_code
        for alias, sql in logged.items():
            sql.extend(q["sql"] for q in connections[alias].queries_log)
        return status

    paths = [
        "/api/v1/markets",
        "/api/v1/markets/LPJ-KRW/trades",
        "/api/v1/markets/LPJ-KRW/candles?interval=1m",
        "/api/v1/rankings",
    ]
    try:
        statuses = [in_new_request(lambda path=path: ask(path)) for path in paths]
    finally:
        for alias in logged:
            connections[alias].force_debug_cursor = False
    replica_sql, primary_sql = " ".join(logged[REPLICA]), " ".join(logged[PRIMARY])

    # then they answer, and their market, trade, candle and leaderboard reads went to the replica
    assert statuses == [200, 200, 200, 200]
    for table in ("markets_tradingpair", "markets_trade", "markets_candle", "rankings_"):
        assert table in replica_sql
        assert table not in primary_sql


def test_an_unreachable_replica_falls_back_to_the_primary(
    dead_replica, lpj_krw, api_client, caplog
):
    # given
    caplog.set_level(logging.WARNING, logger="tradehive.db_router")
    fallbacks_before = fallback_reads("down")

    # when a marked read runs and a public endpoint is asked
    alias = in_new_request(marked_read_alias)
    response = in_new_request(lambda: api_client.get("/api/v1/markets"))

    # then both read the primary, without an error; it is logged once and counted
    assert alias == PRIMARY
    assert response.status_code == 200
    assert [pair["symbol"] for pair in response.json()] == ["LPJ-KRW"]
    assert [r.message for r in caplog.records if "unreachable" in r.message] != []
    assert len([r for r in caplog.records if "unreachable" in r.message]) == 1
    assert fallback_reads("down") - fallbacks_before == 2


def test_a_down_replica_is_not_tried_again_before_the_retry_delay(dead_replica, lpj_krw):
    # given the replica found unreachable once
    in_new_request(marked_read_alias)

    # when marked reads follow at once
    started = time.monotonic()
    aliases = [in_new_request(marked_read_alias) for _ in range(20)]

    # then they read the primary without waiting for a connection attempt each
    assert set(aliases) == {PRIMARY}
    assert time.monotonic() - started < 0.5


def test_a_replica_failing_during_a_read_reruns_it_on_the_primary(replica, lpj_krw, caplog):
    # given a pure read that loses its replica connection half way (its backend is terminated)
    caplog.set_level(logging.WARNING, logger="tradehive.db_router")
    runs: list[str] = []

    @reads_replica
    def two_reads() -> list[str]:
        first = TradingPair.objects.all()
        runs.append(first.db)
        symbols = [pair.symbol for pair in first]
        if len(runs) == 1:
            pid = connections[REPLICA].connection.info.backend_pid
            with connections[PRIMARY].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        second = TradingPair.objects.all()
        return symbols + [pair.symbol for pair in second]

    # when
    result: Any = in_new_request(two_reads)

    # then it ran once on the replica, failed, and once more on the primary
    assert runs == [REPLICA, PRIMARY]
    assert result == ["LPJ-KRW", "LPJ-KRW"]
    assert any("failed during a read" in r.message for r in caplog.records)


def test_no_table_is_unlogged():
    # A streaming standby cannot read an UNLOGGED table ("cannot access temporary or unlogged
    # relations during recovery"): every table the migrations make is logged, so any of them
    # may be read from the replica (docs/decisions.md "A read replica").
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relpersistence = 'u' AND n.nspname = current_schema()"
        )
        assert cursor.fetchall() == []


def test_reads_primary_inside_a_marked_read_uses_the_primary(replica, lpj_krw):
    def nested() -> tuple[str, str, str]:
        with reads_replica():
            before = TradingPair.objects.all().db
            with reads_primary():
                inside = TradingPair.objects.all().db
            return before, inside, TradingPair.objects.all().db

    assert in_new_request(nested) == (REPLICA, PRIMARY, REPLICA)


def test_a_ticker_cached_for_others_is_computed_on_the_primary(replica, lpj_krw, api_client):
    # given the ticker not cached, and the primary's queries recorded
    connections[PRIMARY].force_debug_cursor = True
    try:
        # when a marked read (the public ticker) computes it
        def ask() -> tuple[int, list[str]]:
            status = api_client.get("/api/v1/markets/LPJ-KRW/ticker").status_code
            return status, [q["sql"] for q in connections[PRIMARY].queries_log]

        status, primary_sql = in_new_request(ask)
    finally:
        connections[PRIMARY].force_debug_cursor = False

    # then the candles and trades behind it were read on the primary
    assert status == 200
    assert any("markets_candle" in sql for sql in primary_sql)
    assert any("markets_trade" in sql for sql in primary_sql)


def test_healthz_reports_a_reachable_replica(replica, client):
    assert client.get("/healthz").json()["replica"] == "ok"


def test_healthz_names_a_down_replica_without_a_503(dead_replica, client):
    # when health is asked with the replica unreachable
    response = client.get("/healthz")

    # then it says so, and the web process stays in service (its reads use the primary)
    assert response.status_code == 200
    assert response.json()["replica"] == "down"
    assert response.json()["replica_lag_s"] is None
    assert "down" not in response.json()
