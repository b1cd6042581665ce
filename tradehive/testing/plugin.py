"""pytest plugin loaded with ``-p tradehive.testing.plugin`` (see pyproject.toml).

It runs before Django's settings are imported, so it can give the suite its services:
- ``REDIS_URL`` unset: start the bundled redis-server (``make test`` on a fresh machine);
  under CI (``CI=true``) a missing ``REDIS_URL`` is an error, never a silent fallback.
- Checks that Redis answers before any test runs, and fails the run loudly if not.
- ``@pytest.mark.postgresql``: a test of PostgreSQL-only code (prepared statements, the
  one-statement placement, query budgets of those paths). Without PostgreSQL (``make test`` on
  a fresh machine: SQLite) it is skipped with that reason; under CI, which must run on
  PostgreSQL, it fails instead."""

from __future__ import annotations

import os

import pytest

from tradehive.embedded_redis import ensure_redis_url

# Importing this module imported the ``tradehive`` package, whose Celery app set a default of
# ``settings.dev``; pytest-django prefers the environment over pyproject's setting, so force the
# test settings here (``--ds`` still overrides).
os.environ["DJANGO_SETTINGS_MODULE"] = "tradehive.settings.test"

if not os.environ.get("REDIS_URL"):
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError("CI must provide REDIS_URL (the machine's real Redis)")
    ensure_redis_url()


def pytest_configure(config: pytest.Config) -> None:
    import redis

    url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(f"Redis at {url} is not reachable: {exc}") from exc



def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgresql") is None:
        return
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI must run on PostgreSQL: this test covers a PostgreSQL-only code path",
                    pytrace=False)
    pytest.skip("PostgreSQL-only code path (set DATABASE_URL to run it; CI does)")
