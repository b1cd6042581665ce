"""Measuring the real cadence: per-market counters the Lua scripts keep in ``feedstats:{S}``
(``polls``/``last_poll_ms`` by feed_observe, ``passes``/``last_pass_ms`` by feed_fill), read at
the start and the end of a window, and the pass durations the matching task records.

The window is aligned to beat's time grid (``feeds.schedules.GridSchedule``): the counters are
read at a quarter of a slot after a grid point (``offset_s``: runs of that slot have finished,
the next have not started) and exactly ``seconds`` later, so the window holds exactly
``seconds x 4`` poll slots and ``seconds x 2`` match slots; a rate is the runs counted over
``seconds``. A slot missed or served more than ``offset_s`` late shows as a lower rate. Used by
the integration test and ``bench/feed.py``."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from engine.keys import feed_stats_key
from feeds.matching import MATCH_DURATIONS_KEY, MATCH_STATS_KEY


@dataclass(frozen=True)
class Cadence:
    seconds: float
    polls_per_s: dict[str, float]
    passes_per_s: dict[str, float]
    skipped_passes: int
    pass_us: list[int]  # durations of the whole passes finished while measuring

    def percentile_ms(self, q: float) -> float | None:
        if not self.pass_us:
            return None
        ordered = sorted(self.pass_us)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    def table(self) -> str:
        polls, passes = self.polls_per_s.values(), self.passes_per_s.values()
        rows = [
            "| measure | min | mean | max |",
            "|---|---|---|---|",
            f"| polls/s per market | {min(polls):.2f} | {sum(polls) / len(polls):.2f} "
            f"| {max(polls):.2f} |",
            f"| match passes/s per market | {min(passes):.2f} | "
            f"{sum(passes) / len(passes):.2f} | {max(passes):.2f} |",
        ]
        p50, p99 = self.percentile_ms(0.5), self.percentile_ms(0.99)
        return "\n".join(
            [
                *rows,
                "",
                f"markets {len(self.polls_per_s)}, window {self.seconds:.1f} s, "
                f"passes measured {len(self.pass_us)}, skipped {self.skipped_passes}, "
                f"pass p50 {p50} ms, p99 {p99} ms",
            ]
        )


def _counts(
    client: redis.Redis, symbols: Sequence[str]
) -> tuple[list[tuple[int, int, int, int]], int, int]:
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hmget(feed_stats_key(symbol), ["polls", "last_poll_ms", "passes", "last_pass_ms"])
    pipe.hget(MATCH_STATS_KEY, "skipped")
    pipe.hget(MATCH_STATS_KEY, "passes")
    answers = pipe.execute()
    counts = [tuple(int(v or 0) for v in row) for row in answers[:-2]]
    return counts, int(answers[-2] or 0), int(answers[-1] or 0)  # type: ignore[return-value]


def cadence_measure(
    *,
    client: redis.Redis,
    symbols: Sequence[str],
    seconds: float,
    grid_s: float = 0.5,
    offset_s: float = 0.125,
) -> Cadence:
    """Rates of ``symbols``' polls and passes over ``seconds`` (a multiple of ``grid_s``)."""
    start = (math.floor(time.time() / grid_s) + 1) * grid_s + offset_s
    time.sleep(max(0.0, start - time.time()))
    before, skipped_before, passes_before = _counts(client, symbols)
    time.sleep(max(0.0, start + seconds - time.time()))
    after, skipped_after, passes_after = _counts(client, symbols)
    finished = passes_after - passes_before
    kept: list[Any] = client.lrange(MATCH_DURATIONS_KEY, 0, max(0, finished - 1))  # type: ignore[assignment]
    durations = [int(d) for d in kept]
    polls, passes = {}, {}
    for symbol, a, b in zip(symbols, after, before, strict=True):
        polls[symbol] = (a[0] - b[0]) / seconds
        passes[symbol] = (a[2] - b[2]) / seconds
    return Cadence(
        seconds=seconds,
        polls_per_s=polls,
        passes_per_s=passes,
        skipped_passes=skipped_after - skipped_before,
        pass_us=durations if finished else [],
    )
