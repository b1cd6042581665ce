"""Engine fixtures: a real Redis (the suite's REDIS_URL db, flushed around each test)."""

from __future__ import annotations

import pytest
import redis as redis_lib

from engine.engine import Engine

SYMBOL = "BTC-KRW"


@pytest.fixture
def engine(redis_client: redis_lib.Redis) -> Engine:
    """An engine with an empty, loaded BTC-KRW market."""
    engine = Engine(redis_client)
    engine.rebuild(SYMBOL, [])
    return engine
