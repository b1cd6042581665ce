"""Websocket metrics, counted by the web processes: connections open and frames sent."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# livesum: the open connections of the processes alive now, summed (multiprocess mode).
CONNECTIONS = Gauge(
    "tradehive_ws_connections", "Open websocket connections.", multiprocess_mode="livesum"
)
FRAMES_SENT = Counter("tradehive_ws_frames_sent_total", "Websocket frames sent to clients.")
SLOW_CONSUMERS = Counter(
    "tradehive_ws_slow_consumer_closes_total",
    "Connections closed because the client read too slowly (its outbox filled up).",
)
