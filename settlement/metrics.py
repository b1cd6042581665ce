"""Settlement metrics: events and fills applied and batch times, counted by the ``settle``
processes; and, read at scrape time, how far settlement is behind the engine."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from prometheus_client.core import Metric

from markets.models import TradingPair
from tradehive.metrics import LATENCY_BUCKETS, gauge
from tradehive.redis_client import get_redis

EVENTS_APPLIED = Counter(
    "tradehive_settlement_events_total",
    "Engine events applied to PostgreSQL, by market.",
    ["market"],
)
FILLS_SETTLED = Counter(
    "tradehive_settlement_fills_total", "Engine fills (trades) settled, by market.", ["market"]
)
BATCH_SECONDS = Histogram(
    "tradehive_settlement_batch_seconds",
    "Time to settle one batch of a market's events (read, one transaction, acknowledge).",
    buckets=LATENCY_BUCKETS,
)


def collect() -> Iterable[Metric]:
    # settlement.services counts into this module; its selectors import the services.
    from settlement.selectors import settlement_lag_ms

    symbols = list(TradingPair.objects.values_list("symbol", flat=True))
    lag = settlement_lag_ms(client=get_redis(), symbols=symbols)
    yield gauge(
        "tradehive_settlement_lag_ms",
        "Age of the oldest engine event settlement has not applied (0: all settled).",
        [({}, lag)],
    )
