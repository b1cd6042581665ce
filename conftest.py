"""Fixtures shared by every app's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

# Browser fixtures (browser, page, screenshot) for tests marked ``browser``; the live trading
# stack they run against (web_market, web_user, web_stack).
pytest_plugins = ["tradehive.testing.browser", "tradehive.testing.exchange"]


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    """The test Redis database, emptied before and after the test."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(autouse=True)
def _clear_cache_between_tests() -> Iterator[None]:
    """Rate-limit counters and cached market data live in the Redis cache; start each test clean."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
