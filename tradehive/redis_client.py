"""The process-wide Redis client for engine, price windows, caches of market data and locks."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    """A thread-safe pooled client on ``settings.REDIS_URL`` (strings decoded as UTF-8)."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=2,
        socket_timeout=5,
    )
