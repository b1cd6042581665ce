"""Order metrics: placements and refusals counted where they happen; the outbox backlog and
quarantined rows read at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q
from prometheus_client import Counter
from prometheus_client.core import Metric

from orders.models import OrderOutbox
from tradehive.metrics import gauge

ORDERS_PLACED = Counter(
    "tradehive_orders_placed_total", "Orders accepted by placement, by type.", ["type"]
)
ORDERS_REFUSED = Counter(
    "tradehive_orders_refused_total",
    "Order placements refused before the engine, by error code.",
    ["reason"],
)


def collect() -> Iterable[Metric]:
    counts = OrderOutbox.objects.aggregate(
        backlog=Count("pk", filter=Q(quarantined_at__isnull=True)),
        quarantined=Count("pk", filter=Q(quarantined_at__isnull=False)),
    )
    yield gauge(
        "tradehive_outbox_backlog",
        "Committed orders the engine has not acknowledged yet (outbox rows).",
        [({}, counts["backlog"])],
    )
    yield gauge(
        "tradehive_outbox_quarantined",
        "Outbox rows quarantined (orders that could never reach the engine).",
        [({}, counts["quarantined"])],
    )
