"""Engine metrics: the time of each engine call (one Lua call or one pipeline of them), as the
caller sees it, Redis round trip included."""

from __future__ import annotations

from prometheus_client import Histogram

ENGINE_CALL_SECONDS = Histogram(
    "tradehive_engine_call_duration_seconds",
    "Engine calls by operation (submit, cancel, trigger, ...; pipeline for batches).",
    ["operation"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
