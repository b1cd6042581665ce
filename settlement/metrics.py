"""Settlement metrics read at scrape time: how far settlement is behind the engine."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric

from markets.models import TradingPair
from settlement.selectors import settlement_lag_ms
from tradehive.metrics import gauge
from tradehive.redis_client import get_redis


def collect() -> Iterable[Metric]:
    symbols = list(TradingPair.objects.values_list("symbol", flat=True))
    lag = settlement_lag_ms(client=get_redis(), symbols=symbols)
    yield gauge(
        "tradehive_settlement_lag_ms",
        "Age of the oldest engine event settlement has not applied (0: all settled).",
        [({}, lag)],
    )
