"""pytest plugin loaded with ``-p tradehive.testing.plugin`` (see pyproject.toml).

It runs before Django's settings are imported, so it can give the suite its services:
- ``DATABASE_URL`` / ``REDIS_URL`` unset: start the embedded PostgreSQL and the bundled
  redis-server (``make test`` on a fresh machine); under CI (``CI=true``) a missing URL is an
  error, never a silent fallback.
- Checks that Redis answers before any test runs, and fails the run loudly if not."""

from __future__ import annotations

import os

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


def pytest_configure(config: pytest.Config) -> None:
    import redis

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
