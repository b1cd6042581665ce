"""The pool's check before lending a connection (tradehive/postgresql): no round trip for a
healthy idle connection, a replacement for one the server ended (as a restart does)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from tradehive.postgresql.base import connection_check
from tradehive.testing.postgres import direct_connect_kwargs


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    """A pool of this database's connections that checks with ``connection_check``, as the
    settings' engine builds it."""
    kwargs = direct_connect_kwargs() | {"autocommit": True}
    with ConnectionPool(kwargs=kwargs, min_size=1, max_size=1, check=connection_check) as made:
        yield made


@pytest.fixture
def round_trip_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections psycopg_pool's own (round-trip) check was run on."""
    checked: list[Any] = []
    original = ConnectionPool.check_connection

    def recorded(conn: Any) -> None:
        checked.append(conn)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(recorded))
    return checked


def test_the_settings_engine_checks_with_the_socket_first() -> None:
    pool = connection.pool  # type: ignore[attr-defined]  # the stubs lack Django 5.1's pool
    assert pool is not None
    assert pool._check is connection_check


@pytest.mark.django_db(transaction=True)
def test_a_healthy_idle_connection_is_lent_without_asking_the_server(
    pool: ConnectionPool, round_trip_checks: list[Any]
) -> None:
    for _ in range(3):
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert round_trip_checks == []


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_it_is_lent(
    pool: ConnectionPool, round_trip_checks: list[Any]
) -> None:
    with pool.connection() as conn:
        ended = conn.info.backend_pid
    # the server ends the idle pooled connection (pg_terminate_backend: what a restart does)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # until the backend has gone
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [ended])
            if cursor.fetchone() == (0,):
                break
        time.sleep(0.01)
    # the next borrower gets a working connection, a new one, with no error
    with pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.backend_pid != ended
    assert len(round_trip_checks) == 1  # the socket spoke, so the server was asked


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_descriptor_1024_is_checked_too() -> None:
    # given a process with more open descriptors than select() can watch (a web process with
    # a thousand websockets)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft > 1100, "the test needs a descriptor limit above 1100"
    held = [os.dup(0) for _ in range(1100)]
    try:
        with psycopg.connect(**direct_connect_kwargs(), autocommit=True) as conn:
            assert conn.fileno() >= 1024
            connection_check(conn)  # then it is checked, not refused with a ValueError
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        for fd in held:
            os.close(fd)
