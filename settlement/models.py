"""Settlement's progress per market: the engine sequence it applied last (exactly once)."""

from __future__ import annotations

from django.db import models


class MarketCursor(models.Model):
    """``last_seq`` is the engine sequence of the newest event of ``pair`` applied to PostgreSQL.

    Settlement locks this row for the whole batch and only applies events with
    ``seq == last_seq + 1, +2, ...``, so each event is applied once and in order, whichever
    consumer reads it and however often it is redelivered."""

    pair = models.OneToOneField(
        "markets.TradingPair", on_delete=models.CASCADE, related_name="settlement_cursor"
    )
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # A batch that cannot be applied stops this market alone (``settlement.services.
    # settle_failure_record``): how often that happened, since when it fails (None: settling),
    # and the last error. db_default: rows are also created by get_or_create naming no field.
    failures = models.PositiveIntegerField(db_default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, db_default="")

    def __str__(self) -> str:
        return f"{self.pair_id}@{self.last_seq}"
