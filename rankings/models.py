"""Rankings' derived tables (docs/rankings.md). Everything here is rebuilt from fills, the ledger
and the users by ``rebuild_rankings``; the refresh job keeps them current from watermarks.

Keys are plain integer columns (``user_id``, ``asset_id``), not foreign keys: these
are caches of PostgreSQL's own data, written by set-based SQL in bulk (``rankings/sql.py``), and a
foreign key would cost a lookup per row for nothing (users, assets and pairs are never deleted).
Copy trading reuses ``Snapshot`` (unit values and units per user and hour)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from wallets.models import money_field

# Cumulative log of a unit value: exact sums of per-step logs rounded to this many places, so
# that adding steps in any grouping (incremental or rebuild) gives the same number.
LOG_PLACES = 12


def _log_field(*, null: bool = False) -> models.DecimalField:
    return models.DecimalField(max_digits=30, decimal_places=LOG_PLACES, null=null)


def _amounts_field(*, null: bool = False) -> ArrayField:
    """Amounts per asset, parallel to an ``asset_ids`` array (NULL elements: none)."""
    return ArrayField(money_field(null=True), null=null)


class Period(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class RankingsState(models.Model):
    """One row (pk 1): the watermarks the refresh has consumed, the hour its period states are
    current for, when it last ran, the prices the leaderboards were ranked at (the reads compute
    the figures they show at the same prices) and the eligibility rules they were ranked by."""

    fill_watermark = models.BigIntegerField(default=0, help_text="Last orders.Fill id rolled up.")
    entry_watermark = models.BigIntegerField(
        default=0, help_text="Last wallets.LedgerEntry id rolled up."
    )
    now_hour = models.DateTimeField(
        null=True, blank=True, help_text="The current hour of the last refresh (PeriodState's)."
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    prices = ArrayField(
        money_field(null=True),
        null=True,
        blank=True,
        help_text="The current hour's prices by asset id (index = id; NULL: no path).",
    )
    min_equity = money_field(null=True, blank=True)
    min_trades = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rankings at fill {self.fill_watermark}, entry {self.entry_watermark}"


class AssetPrice(models.Model):
    """An asset's value in the reference asset at the end of an hour, for every hour from the
    first hourly candle to now (carried forward through quiet hours): what snapshots are marked
    at. The open hour's is the previous hour's close until the hour ends (docs/rankings.md,
    "The open hour"). NULL: no path to the reference asset."""

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
    """One user at the end of an hour in which they traded or moved money (the open hour's
    marked at its opening prices until it ends).

    ``equity``: holdings marked in the reference asset; ``flow``: net deposits of the hour in
    the reference asset; ``log_value``: cumulative natural log of the unit value (a unit was
    worth 1 at the first deposit); ``units`` = equity / unit value.

    The amounts behind them, per asset (``asset_ids`` ascending, the other arrays parallel):
    ``held`` at the end of the hour, and the hour's own ``flowed`` (cash flows) and ``traded``
    (quote amounts of fills), NULL where none. An asset is listed while it is held or moved
    that hour. With them a snapshot is re-marked at any hour's prices without reading older
    rows, and the next one is this one plus the next hour's deltas."""

    user_id = models.BigIntegerField()
    hour = models.DateTimeField()
    equity = money_field()
    flow = money_field()
    trades = models.IntegerField()
    volume = money_field()
    log_value = _log_field()
    units = money_field()
    asset_ids = ArrayField(models.BigIntegerField())
    held = _amounts_field()
    flowed = _amounts_field(null=True)
    traded = _amounts_field(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "hour"], name="rankings_snapshot_unique")
        ]
        # The refresh finds who was active at an hour (price changes, periods moving on).
        indexes = [models.Index(fields=["hour"], name="rankings_snapshot_hour")]

    def __str__(self) -> str:
        return f"user {self.user_id} {self.hour:%Y-%m-%d %H}h equity {self.equity}"


class PeriodState(models.Model):
    """What a period's figures need from one opted-in trader's history, summarised so that a
    refresh computes the figures without reading the history (docs/rankings.md, "Period
    state"). Valid for ``RankingsState.now_hour`` (n); the period's start hour is s.

    ``start_*``: the last snapshot at or before s (NULL: none, or the ``all`` period), with its
    holdings, so it can be re-marked at s's prices. ``closed_*``: the snapshots in (s, n), the
    "closed" hours: counts and sums, the max/min of the log unit value and the largest fall
    within them. Their UTC days, for the win rate: the first day (its close and trades), the
    last day and the close of the day before it, and the days strictly between (trading and
    winning days). The current hour's snapshot is added when the figures are computed."""

    period = models.CharField(max_length=5, choices=Period.choices)
    user_id = models.BigIntegerField()
    start_hour = models.DateTimeField(null=True)
    start_equity = money_field(null=True)
    start_log = _log_field(null=True)
    start_asset_ids = ArrayField(models.BigIntegerField(), null=True)
    start_held = _amounts_field(null=True)
    closed_snapshots = models.IntegerField()
    closed_flow = money_field()
    closed_trades = models.BigIntegerField()
    closed_volume = money_field()
    closed_log_max = _log_field(null=True)
    closed_log_min = _log_field(null=True)
    closed_drawdown = _log_field(null=True)
    first_day = models.DateField(null=True)
    first_close = _log_field(null=True)
    first_trades = models.BigIntegerField(null=True)
    last_day = models.DateField(null=True)
    last_close = _log_field(null=True)
    last_trades = models.BigIntegerField(null=True)
    prelast_close = _log_field(null=True)
    mid_trading_days = models.IntegerField()
    mid_winning_days = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "user_id"], name="rankings_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period} user {self.user_id}: {self.closed_snapshots} closed snapshots"


class LeaderboardRow(models.Model):
    """One opted-in trader in one period: everything of its figures that does not move with the
    current prices (docs/rankings.md, "The leaderboards"). Rewritten only for the traders whose
    history, period state or last snapshot changed (or when the hour moves on); the figures that
    do move with prices (return, PnL, drawdown, eligibility by equity) are computed from these
    columns, the trader's ``TraderMark`` and the current prices, by the refresh to rank and by
    the reads for the rows they show.

    ``start_log``: the log unit value at the period's start point re-marked at the start hour's
    prices (0: none); ``pnl_base``: that start point's equity plus the period's net cash flows
    (PnL = equity now - pnl_base); ``drawdown_log``: the largest fall of the log unit value
    over the start point and the period's snapshots; ``peak_log``: their highest log unit value
    (the fall to the end point is ``peak_log`` - the end's log). ``trades``, ``volume`` and
    ``win_rate`` are the period's."""

    period = models.CharField(max_length=5, choices=Period.choices)
    user_id = models.BigIntegerField()
    is_bot = models.BooleanField()
    start_log = _log_field()
    pnl_base = money_field()
    drawdown_log = _log_field()
    peak_log = _log_field()
    win_rate = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    trades = models.BigIntegerField()
    volume = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "user_id"], name="rankings_row_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period} user {self.user_id}"


class TraderMark(models.Model):
    """One opted-in trader's last snapshot at or before the current hour (its holdings, equity,
    log unit value, flow, trades and volume): what their equity now (the holdings at the
    current prices) and their end point are computed from, once per trader for every period.
    Rewritten for the traders whose snapshots changed (everyone when the hour moves on)."""

    user_id = models.BigIntegerField(unique=True)
    is_bot = models.BooleanField()
    hour = models.DateTimeField()
    equity = money_field()
    log_value = _log_field()
    asset_ids = ArrayField(models.BigIntegerField())
    held = _amounts_field()
    flow = money_field()
    trades = models.IntegerField()
    volume = money_field()

    def __str__(self) -> str:
        return f"user {self.user_id} at {self.hour:%Y-%m-%d %H}h"


class Ranking(models.TextChoices):
    """The four orders of a period's leaderboard (``LeaderboardPage.ranking``)."""

    RETURN = "rank_return"
    PNL = "rank_pnl"
    RETURN_HUMAN = "rank_return_human"
    PNL_HUMAN = "rank_pnl_human"


# Ranks per LeaderboardPage row.
RANKS_PER_PAGE = 100


class LeaderboardPage(models.Model):
    """``RANKS_PER_PAGE`` consecutive ranks of one ranking of a period: the traders' ids in rank
    order, ranks ``chunk * RANKS_PER_PAGE + 1`` on. A page of the API reads one or three of
    these and then the traders' rows.

    ``last_key``/``last_user``: the ranking's key (the return's log growth, or the PnL) and the
    id of the page's last trader. The order is key descending, id ascending, so a profile finds
    the page that holds a trader from their own key (computed at read time) with one probe of
    the index, and the rank within it: no row per trader is written for the ranks."""

    period = models.CharField(max_length=5, choices=Period.choices)
    ranking = models.CharField(max_length=17, choices=Ranking.choices)
    chunk = models.IntegerField()
    user_ids = ArrayField(models.BigIntegerField())
    last_key = money_field()
    last_user = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "ranking", "chunk"], name="rankings_page_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["period", "ranking", "-last_key", "last_user"], name="rankings_page_by_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.ranking} chunk {self.chunk}"
