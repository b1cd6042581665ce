"""The process-wide engine on the configured Redis."""

from __future__ import annotations

from functools import lru_cache

from engine.engine import Engine
from tradehive.redis_client import get_redis


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """One ``Engine`` per process (its scripts are registered once)."""
    return Engine(get_redis())
