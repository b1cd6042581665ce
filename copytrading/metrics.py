"""Copy-trading metrics: copies by outcome and the time to mirror one leader fill."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COPIES = Counter(
    "tradehive_copy_orders_total",
    "Follower copies of leader fills, by outcome (placed, or the skip reason).",
    ["outcome"],
)
MIRROR_SECONDS = Histogram(
    "tradehive_copy_mirror_seconds",
    "Time to mirror one leader fill to every active follower (one transaction).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
