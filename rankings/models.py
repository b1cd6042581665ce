"""Rankings' derived tables (docs/rankings.md). Everything here is rebuilt from fills, the ledger
and the users by ``rebuild_rankings``; the refresh job keeps them current from watermarks.

Keys are plain integer columns (``user_id``, ``asset_id``), not foreign keys: these
are caches of PostgreSQL's own data, written by set-based SQL in bulk (``rankings/sql.py``), and a
foreign key would cost a lookup per row for nothing (users, assets and pairs are never deleted).
Copy trading reuses ``Snapshot`` (unit values and units per user and hour)."""

from __future__ import annotations

from django.db import models

from wallets.models import money_field

# Cumulative log of a unit value: exact sums of per-step logs rounded to this many places, so
# that adding steps in any grouping (incremental or rebuild) gives the same number.
LOG_PLACES = 12


def _log_field() -> models.DecimalField:
    return models.DecimalField(max_digits=30, decimal_places=LOG_PLACES)


class Period(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class RankingsState(models.Model):
    """One row (pk 1): the watermarks the refresh has consumed and when it last ran."""

    fill_watermark = models.BigIntegerField(default=0, help_text="Last orders.Fill id rolled up.")
    entry_watermark = models.BigIntegerField(
        default=0, help_text="Last wallets.LedgerEntry id rolled up."
    )
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rankings at fill {self.fill_watermark}, entry {self.entry_watermark}"


class HoldingBucket(models.Model):
    """What one hour did to one user's holding of one asset: ``trade_delta`` from fills (fees
    included), ``flow_delta`` from deposits, withdrawals, adjustments and transfers, and
    ``holding_after``, the holding at the end of the hour. ``trades``/``volume`` count the
    user's fills whose quote is this asset, and their quote amount."""

    user_id = models.BigIntegerField()
    asset_id = models.BigIntegerField()
    hour = models.DateTimeField()
    trade_delta = money_field()
    flow_delta = money_field()
    holding_after = money_field()
    trades = models.IntegerField()
    volume = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "asset_id", "hour"], name="rankings_holding_bucket_unique"
            )
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} asset {self.asset_id} {self.hour:%Y-%m-%d %H}h"


class AssetPrice(models.Model):
    """An asset's value in the reference asset at the end of an hour, for every hour from the
    first hourly candle to now (carried forward through quiet hours). NULL: no path to the
    reference asset."""

    asset_id = models.BigIntegerField()
    hour = models.DateTimeField()
    price = money_field(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset_id", "hour"], name="rankings_asset_price_unique")
        ]
        # Profiles read the latest hour's prices.
        indexes = [models.Index(fields=["hour"], name="rankings_asset_price_hour")]

    def __str__(self) -> str:
        return f"asset {self.asset_id} {self.hour:%Y-%m-%d %H}h = {self.price}"


class Snapshot(models.Model):
    """One user at the end of an hour in which they traded or moved money.

    ``equity``: holdings marked in the reference asset; ``flow``: net deposits of the hour in
    the reference asset; ``log_value``: cumulative natural log of the unit value (a unit was
    worth 1 at the first deposit); ``units`` = equity / unit value."""

    user_id = models.BigIntegerField()
    hour = models.DateTimeField()
    equity = money_field()
    flow = money_field()
    trades = models.IntegerField()
    volume = money_field()
    log_value = _log_field()
    units = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "hour"], name="rankings_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} {self.hour:%Y-%m-%d %H}h equity {self.equity}"


class LeaderboardRow(models.Model):
    """One opted-in trader in one period's leaderboard. Ranks are NULL when not eligible; the
    ``*_human`` ranks skip bots (``?bots=exclude``)."""

    period = models.CharField(max_length=5, choices=Period.choices)
    user_id = models.BigIntegerField()
    is_bot = models.BooleanField()
    eligible = models.BooleanField()
    rank_return = models.BigIntegerField(null=True)
    rank_pnl = models.BigIntegerField(null=True)
    rank_return_human = models.BigIntegerField(null=True)
    rank_pnl_human = models.BigIntegerField(null=True)
    return_pct = models.DecimalField(max_digits=30, decimal_places=4)
    pnl = money_field()
    win_rate = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    max_drawdown_pct = models.DecimalField(max_digits=7, decimal_places=2)
    trades = models.BigIntegerField()
    volume = money_field()
    equity = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "user_id"], name="rankings_row_unique")
        ]
        indexes = [
            models.Index(fields=["period", "rank_return"], name="rankings_row_by_return"),
            models.Index(fields=["period", "rank_pnl"], name="rankings_row_by_pnl"),
            models.Index(fields=["period", "rank_return_human"], name="rankings_row_by_return_h"),
            models.Index(fields=["period", "rank_pnl_human"], name="rankings_row_by_pnl_h"),
        ]

    def __str__(self) -> str:
        return f"{self.period} user {self.user_id} #{self.rank_return}"
