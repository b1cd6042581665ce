"""pytest plugin loaded with ``-p tradehive.testing.plugin`` (see pyproject.toml).

It runs before Django's settings are imported, so it can give the suite its services:
- ``DATABASE_URL`` / ``REDIS_URL`` unset: start the embedded PostgreSQL and the bundled
  redis-server (``make test`` on a fresh machine); under CI (``CI=true``) a missing URL is an
  error, never a silent fallback.
- Checks that Redis answers before any test runs, and fails the run loudly if not.
- Empties the tables after a transactional test with ``DELETE`` instead of ``TRUNCATE``
  (``_flush_by_delete``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from tradehive.embedded_postgres import ensure_database_url
from tradehive.embedded_redis import ensure_redis_url

# Importing this module imported the ``tradehive`` package, whose Celery app set a default of
# ``settings.dev``; pytest-django prefers the environment over pyproject's setting, so force the
# test settings here (``--ds`` still overrides).
os.environ["DJANGO_SETTINGS_MODULE"] = "tradehive.settings.test"

for _name in ("DATABASE_URL", "REDIS_URL"):
    if not os.environ.get(_name) and os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI must provide {_name} (the machine's real server)")
ensure_database_url()
ensure_redis_url()


def _flush_by_delete() -> None:
    """After each transactional test Django empties every table (``flush``) with one
    ``TRUNCATE`` of all of them: PostgreSQL gives each of the 44 tables and their indexes new
    files, 0.39-0.42 s a test, most of a transactional test's time. A test leaves a few rows
    in a few tables, which ``DELETE`` removes in 0.03 s (measured on the same tables and
    rows). The foreign keys Django creates are ``DEFERRABLE``, so with the constraints
    deferred the order of the deletes does not matter. Tests only: ``manage.py flush`` keeps
    ``TRUNCATE``, and a flush that resets sequences too."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(
        self: DatabaseOperations,
        style: object,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            "SET CONSTRAINTS ALL DEFERRED",
            # table names from Django's introspection, quoted
            *(f"DELETE FROM {self.quote_name(table)}" for table in tables),  # noqa: S608
        ]

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign,assignment]


def pytest_configure(config: pytest.Config) -> None:
    import redis

    _flush_by_delete()

    url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(f"Redis at {url} is not reachable: {exc}") from exc


@pytest.fixture(autouse=True)
def _process_caches_emptied() -> None:
    """Per-process caches of rows (the markets by symbol that websocket subscriptions and the
    ticker flush read, the feed markets that polls read) keep the ids of the test that filled
    them for a few seconds, while the next test's assets and markets have new ids: every test
    starts with them empty. (A test that read the previous test's cached market read the
    house's balances of assets that no longer existed, and pushed a size of 0.)"""
    from feeds.selectors import feed_market_cache_clear
    from realtime.selectors import market_cache_clear

    market_cache_clear()
    feed_market_cache_clear()
