"""Candle intervals and their UTC-aligned buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markets.models import Interval

INTERVAL_SECONDS: dict[str, int] = {
    Interval.M1: 60,
    Interval.M5: 5 * 60,
    Interval.M15: 15 * 60,
    Interval.H1: 60 * 60,
    Interval.H4: 4 * 60 * 60,
    Interval.D1: 24 * 60 * 60,
}
INTERVALS: tuple[str, ...] = tuple(INTERVAL_SECONDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(moment: datetime, interval: str) -> datetime:
    """The open time of the ``interval`` bucket holding ``moment``, aligned to the Unix epoch in
    UTC (so 4h buckets start at 00, 04, 08 ... UTC and 1d at midnight UTC)."""
    seconds = INTERVAL_SECONDS[interval]
    elapsed = moment - _EPOCH
    # Whole seconds as integers (timedelta normalises microseconds to 0..999999), never floats.
    whole_seconds = elapsed.days * 86400 + elapsed.seconds
    return _EPOCH + timedelta(seconds=whole_seconds - whole_seconds % seconds)
