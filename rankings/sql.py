"""The rankings pipeline in set-based SQL, executed in PostgreSQL (docs/rankings.md).

One refresh, in one transaction, from the watermarks in ``RankingsState``:

1. ``rk_delta``: the new fills and cash-flow ledger entries, summed per user, asset and hour.
2. ``HoldingBucket`` += the deltas; ``holding_after`` re-run from the earliest touched hour.
3. ``AssetPrice``: every asset's value in the reference asset per hour, recomputed from the
   markets' hourly candles (it is small) and compared with the stored one; the first hour that
   differs is where prices changed.
4. ``Snapshot``: per user, recomputed from the earliest hour that changed for that user (its
   new buckets, or changed prices at an hour it was active).
5. ``LeaderboardRow``: rewritten for every period from the snapshots and the current prices.

A full rebuild empties the tables and runs the same steps from watermark 0, so both give the
same rows (a hypothesis test compares them). Every sum is of exact numerics; the only floats are
the per-step logs of unit-value growth, each rounded to ``LOG_PLACES`` before it is summed, so
the grouping of the sums never changes a digit.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from accounts.models import User
from markets.models import Candle, TradingPair
from orders.models import Fill
from rankings.models import (
    AssetPrice,
    HoldingBucket,
    LeaderboardRow,
    RankingsState,
    Snapshot,
)
from wallets.models import Account, JournalTransaction, LedgerEntry

logger = logging.getLogger(__name__)

# The refresh and the rebuild serialise on this advisory lock (any constant unique to rankings).
RANKINGS_LOCK_KEY = 0x52414E4B  # "RANK"

# Journal kinds that are money entering or leaving a user (not trading): they change units.
CASH_FLOW_KINDS = (
    JournalTransaction.Kind.DEPOSIT,
    JournalTransaction.Kind.WITHDRAWAL,
    JournalTransaction.Kind.ADJUSTMENT,
    JournalTransaction.Kind.TRANSFER,
)

_T = {
    "fill": Fill._meta.db_table,
    "pair": TradingPair._meta.db_table,
    "entry": LedgerEntry._meta.db_table,
    "journal": JournalTransaction._meta.db_table,
    "account": Account._meta.db_table,
    "user": User._meta.db_table,
    "hb": HoldingBucket._meta.db_table,
    "candle": Candle._meta.db_table,
    "ap": AssetPrice._meta.db_table,
    "snap": Snapshot._meta.db_table,
    "lb": LeaderboardRow._meta.db_table,
    "state": RankingsState._meta.db_table,
}


def _sql(text: str) -> str:
    return text.format(**_T)


# The value of ``qty`` of asset ``asset_id`` with price row ``p``: the reference asset is worth 1
# at any hour; an asset with no price (no path, or its market never traded yet) is worth 0.
def _value(qty: str, asset: str, price: str) -> str:
    return f"round({qty} * COALESCE(CASE WHEN {asset} = %(ref)s THEN 1 END, {price}, 0), 18)"


# One step of the unit value: ln((equity - flow) / previous equity), rounded, 0 when there was
# no previous equity (the first deposit sets the unit value at 1). A total loss floors at 1e-12.
def _log_step(ratio: str) -> str:
    return f"round(ln(greatest({ratio}, 1e-12)::float8)::numeric, 12)"


_DELTA = _sql(
    """
CREATE TEMP TABLE rk_delta ON COMMIT DROP AS
SELECT user_id, asset_id, hour,
       sum(trade_delta) AS trade_delta, sum(flow_delta) AS flow_delta,
       sum(trades)::int AS trades, sum(volume) AS volume
FROM (
    SELECT f.user_id, leg.asset_id, date_trunc('hour', f.created_at) AS hour,
           leg.trade_delta, 0::numeric AS flow_delta, leg.trades, leg.volume
    FROM {fill} f
    JOIN {pair} p ON p.id = f.pair_id
    CROSS JOIN LATERAL (VALUES
        (p.base_id,
         CASE WHEN f.side = 'buy' THEN f.quantity ELSE -f.quantity END, 0, 0::numeric),
        (p.quote_id,
         CASE WHEN f.side = 'buy' THEN -f.quote_quantity ELSE f.quote_quantity END,
         1, f.quote_quantity),
        (f.fee_asset_id, -f.fee, 0, 0::numeric)
    ) AS leg(asset_id, trade_delta, trades, volume)
    WHERE f.id > %(fill_lo)s AND f.id <= %(fill_hi)s
    UNION ALL
    SELECT a.user_id, e.asset_id, date_trunc('hour', j.created_at), 0, e.amount, 0, 0
    FROM {entry} e
    JOIN {account} a ON a.id = e.account_id
    JOIN {journal} j ON j.id = e.journal_id
    WHERE e.id > %(entry_lo)s AND e.id <= %(entry_hi)s
      AND a.kind = 'user' AND j.kind = ANY(%(flow_kinds)s)
) legs
GROUP BY user_id, asset_id, hour
"""
)

_BUCKETS_ADD = _sql(
    """
INSERT INTO {hb} (user_id, asset_id, hour, trade_delta, flow_delta, holding_after, trades, volume)
SELECT user_id, asset_id, hour, trade_delta, flow_delta, 0, trades, volume FROM rk_delta
ON CONFLICT (user_id, asset_id, hour) DO UPDATE SET
    trade_delta = {hb}.trade_delta + EXCLUDED.trade_delta,
    flow_delta = {hb}.flow_delta + EXCLUDED.flow_delta,
    trades = {hb}.trades + EXCLUDED.trades,
    volume = {hb}.volume + EXCLUDED.volume
"""
)

# The rebuild's version of the two statements above (the table is empty): one insert, the
# holdings a window sum; the same rows as adding and re-running.
_BUCKETS_FULL = _sql(
    """
INSERT INTO {hb} (user_id, asset_id, hour, trade_delta, flow_delta, holding_after, trades, volume)
SELECT user_id, asset_id, hour, trade_delta, flow_delta,
       sum(trade_delta + flow_delta) OVER (PARTITION BY user_id, asset_id ORDER BY hour),
       trades, volume
FROM rk_delta
"""
)

_HOLDINGS_RUN = _sql(
    """
WITH touched AS (
    SELECT user_id, asset_id, min(hour) AS h0 FROM rk_delta GROUP BY user_id, asset_id
), base AS (
    SELECT t.user_id, t.asset_id, t.h0, COALESCE(prev.holding_after, 0) AS base
    FROM touched t
    LEFT JOIN LATERAL (
        SELECT b.holding_after FROM {hb} b
        WHERE b.user_id = t.user_id AND b.asset_id = t.asset_id AND b.hour < t.h0
        ORDER BY b.hour DESC LIMIT 1
    ) prev ON true
), run AS (
    SELECT b.id, base.base + sum(b.trade_delta + b.flow_delta) OVER (
        PARTITION BY b.user_id, b.asset_id ORDER BY b.hour) AS after
    FROM {hb} b
    JOIN base ON b.user_id = base.user_id AND b.asset_id = base.asset_id AND b.hour >= base.h0
)
UPDATE {hb} b SET holding_after = run.after FROM run WHERE b.id = run.id
"""
)

# Every asset in the reference asset, per hour from the first hourly candle to now: a market's
# price at the end of an hour is the close of its last 1h candle so far (``markets`` keeps them
# for book and feed-priced markets alike). Paths (docs/rankings.md): a direct market X-REF (else
# REF-X, inverted); otherwise one hop through an asset Y with a direct market, using the X-Y or
# Y-X market that traded the most X ever (ties: the lower market id).
_PRICES = _sql(
    """
CREATE TEMP TABLE rk_price ON COMMIT DROP AS
WITH hourly AS (
    SELECT c.pair_id, c.bucket AS hour, c.close, c.volume, c.quote_volume
    FROM {candle} c WHERE c.interval = '1h' AND c.bucket <= %(now_hour)s
), hours AS (
    SELECT generate_series(min(hour), %(now_hour)s, interval '1 hour') AS hour FROM hourly
), pairs AS (
    SELECT p.id, p.base_id, p.quote_id, sum(h.volume) AS volume,
           sum(h.quote_volume) AS quote_volume
    FROM {pair} p JOIN hourly h ON h.pair_id = p.id GROUP BY p.id
), grid AS (
    SELECT pr.id AS pair_id, h.hour, c.close,
           count(c.close) OVER (PARTITION BY pr.id ORDER BY h.hour) AS grp
    FROM pairs pr CROSS JOIN hours h
    LEFT JOIN hourly c ON c.pair_id = pr.id AND c.hour = h.hour
), pair_price AS (
    SELECT pair_id, hour,
           first_value(close) OVER (PARTITION BY pair_id, grp ORDER BY hour) AS price
    FROM grid
), direct AS (
    SELECT DISTINCT ON (asset_id) asset_id, pair_id, inverse FROM (
        SELECT base_id AS asset_id, id AS pair_id, false AS inverse, 0 AS pref
        FROM pairs WHERE quote_id = %(ref)s
        UNION ALL
        SELECT quote_id, id, true, 1 FROM pairs WHERE base_id = %(ref)s
    ) d ORDER BY asset_id, pref, pair_id
), hop AS (
    SELECT DISTINCT ON (asset_id) asset_id, pair_id, via, inverse FROM (
        SELECT p.base_id AS asset_id, p.id AS pair_id, p.quote_id AS via, false AS inverse,
               p.volume AS traded
        FROM pairs p JOIN direct dy ON dy.asset_id = p.quote_id
        UNION ALL
        SELECT p.quote_id, p.id, p.base_id, true, p.quote_volume
        FROM pairs p JOIN direct dy ON dy.asset_id = p.base_id
    ) h
    WHERE asset_id <> %(ref)s AND asset_id NOT IN (SELECT asset_id FROM direct)
    ORDER BY asset_id, traded DESC, pair_id
), direct_price AS (
    SELECT d.asset_id, pp.hour,
           CASE WHEN NOT d.inverse THEN pp.price
                WHEN pp.price > 0 THEN round(1 / pp.price, 18) END AS price
    FROM direct d JOIN pair_price pp ON pp.pair_id = d.pair_id
)
SELECT asset_id, hour, price FROM direct_price
UNION ALL
SELECT h.asset_id, pp.hour,
       CASE WHEN NOT h.inverse THEN round(pp.price * dp.price, 18)
            WHEN pp.price > 0 THEN round(dp.price / pp.price, 18) END
FROM hop h
JOIN pair_price pp ON pp.pair_id = h.pair_id
JOIN direct_price dp ON dp.asset_id = h.via AND dp.hour = pp.hour
"""
)

_PRICES_FIRST_CHANGE = _sql(
    """
SELECT min(hour) FROM (
    SELECT n.hour FROM rk_price n
    LEFT JOIN {ap} o ON o.asset_id = n.asset_id AND o.hour = n.hour
    WHERE o.id IS NULL OR o.price IS DISTINCT FROM n.price
    UNION ALL
    SELECT o.hour FROM {ap} o
    LEFT JOIN rk_price n ON n.asset_id = o.asset_id AND n.hour = o.hour
    WHERE n.asset_id IS NULL
) changed
"""
)

_PRICES_REPLACE = [
    _sql("DELETE FROM {ap} WHERE hour >= %(hp0)s"),
    _sql(
        "INSERT INTO {ap} (asset_id, hour, price) "
        "SELECT asset_id, hour, price FROM rk_price WHERE hour >= %(hp0)s"
    ),
]

_DIRTY = _sql(
    """
CREATE TEMP TABLE rk_dirty ON COMMIT DROP AS
SELECT user_id, min(h0) AS h0 FROM (
    SELECT user_id, min(hour) AS h0 FROM rk_delta GROUP BY user_id
    UNION ALL
    SELECT DISTINCT user_id, %(hp0)s::timestamptz FROM {hb}
    WHERE %(hp0)s::timestamptz IS NOT NULL AND hour >= %(hp0)s::timestamptz
) d GROUP BY user_id
"""
)

_SNAPSHOTS_DELETE = _sql(
    "DELETE FROM {snap} s USING rk_dirty d WHERE s.user_id = d.user_id AND s.hour >= d.h0"
)

_SNAPSHOTS_INSERT = _sql(
    """
WITH hours AS (
    SELECT DISTINCT b.user_id, b.hour
    FROM {hb} b JOIN rk_dirty d ON d.user_id = b.user_id AND b.hour >= d.h0
), held_assets AS (
    SELECT DISTINCT b.user_id, b.asset_id FROM {hb} b JOIN rk_dirty d ON d.user_id = b.user_id
), base AS (
    SELECT a.user_id, a.asset_id, prev.holding_after
    FROM held_assets a JOIN rk_dirty d ON d.user_id = a.user_id
    JOIN LATERAL (
        SELECT b.holding_after FROM {hb} b
        WHERE b.user_id = a.user_id AND b.asset_id = a.asset_id AND b.hour < d.h0
        ORDER BY b.hour DESC LIMIT 1
    ) prev ON true
), grid AS (
    SELECT h.user_id, h.hour, a.asset_id, b.holding_after,
           count(b.holding_after) OVER (
               PARTITION BY h.user_id, a.asset_id ORDER BY h.hour) AS grp
    FROM hours h
    JOIN held_assets a ON a.user_id = h.user_id
    LEFT JOIN {hb} b ON b.user_id = h.user_id AND b.asset_id = a.asset_id AND b.hour = h.hour
), held AS (
    SELECT g.user_id, g.hour, g.asset_id,
           COALESCE(first_value(g.holding_after) OVER (
               PARTITION BY g.user_id, g.asset_id, g.grp ORDER BY g.hour), base.holding_after, 0)
               AS holding_after
    FROM grid g
    LEFT JOIN base ON base.user_id = g.user_id AND base.asset_id = g.asset_id
), marks AS (
    SELECT h.user_id, h.hour, sum(VALUE_HELD) AS equity
    FROM held h
    LEFT JOIN {ap} p ON p.asset_id = h.asset_id AND p.hour = h.hour
    GROUP BY h.user_id, h.hour
), acts AS (
    SELECT b.user_id, b.hour, sum(VALUE_FLOW) AS flow, sum(b.trades) AS trades,
           sum(VALUE_VOLUME) AS volume
    FROM {hb} b
    JOIN rk_dirty d ON d.user_id = b.user_id AND b.hour >= d.h0
    LEFT JOIN {ap} p ON p.asset_id = b.asset_id AND p.hour = b.hour
    GROUP BY b.user_id, b.hour
), prev AS (
    SELECT d.user_id, s.equity, s.log_value
    FROM rk_dirty d
    LEFT JOIN LATERAL (
        SELECT equity, log_value FROM {snap}
        WHERE user_id = d.user_id AND hour < d.h0 ORDER BY hour DESC LIMIT 1
    ) s ON true
), steps AS (
    SELECT m.user_id, m.hour, m.equity, a.flow, a.trades, a.volume,
           COALESCE(lag(m.equity) OVER (PARTITION BY m.user_id ORDER BY m.hour), prev.equity)
               AS prev_equity,
           COALESCE(prev.log_value, 0) AS base_log
    FROM marks m
    JOIN acts a ON a.user_id = m.user_id AND a.hour = m.hour
    JOIN prev ON prev.user_id = m.user_id
), logged AS (
    SELECT user_id, hour, equity, flow, trades, volume,
           base_log + sum(CASE WHEN prev_equity IS NULL OR prev_equity <= 0 THEN 0
                               ELSE LOG_STEP END)
               OVER (PARTITION BY user_id ORDER BY hour) AS log_value
    FROM steps
)
INSERT INTO {snap} (user_id, hour, equity, flow, trades, volume, log_value, units)
SELECT user_id, hour, equity, flow, trades, volume, log_value,
       least(round((equity::float8 / exp(greatest(log_value, -700)::float8))::numeric, 18),
             1e19)
FROM logged
""".replace("VALUE_HELD", _value("h.holding_after", "h.asset_id", "p.price"))
    .replace("VALUE_FLOW", _value("b.flow_delta", "b.asset_id", "p.price"))
    .replace("VALUE_VOLUME", _value("b.volume", "b.asset_id", "p.price"))
    .replace("LOG_STEP", _log_step("(equity - flow) / prev_equity"))
)

# Every period of every opted-in trader with a snapshot, from the snapshots and current prices.
# A period is the hour buckets after ``start_hour`` up to now; its start point is the state at
# the end of hour ``start_hour`` (the last snapshot then, re-marked at that hour's prices).
_LEADERBOARD = _sql(
    """
WITH people AS (
    SELECT id AS user_id, is_bot FROM {user}
    WHERE rankings_opt_in AND NOT rankings_excluded AND is_active
), periods(period, start_hour) AS (
    VALUES ('day', %(now_hour)s::timestamptz - interval '24 hours'),
           ('week', %(now_hour)s::timestamptz - interval '7 days'),
           ('month', %(now_hour)s::timestamptz - interval '30 days'),
           ('all', '-infinity'::timestamptz)
), now_held AS (
    SELECT DISTINCT ON (b.user_id, b.asset_id) b.user_id, b.asset_id, b.holding_after
    FROM {hb} b JOIN people pe ON pe.user_id = b.user_id
    ORDER BY b.user_id, b.asset_id, b.hour DESC
), now_equity AS (
    SELECT h.user_id, sum(VALUE_NOW) AS equity
    FROM now_held h LEFT JOIN {ap} p ON p.asset_id = h.asset_id AND p.hour = %(now_hour)s
    GROUP BY h.user_id
), last_snap AS (
    SELECT DISTINCT ON (s.user_id) s.user_id, s.equity, s.log_value
    FROM {snap} s JOIN people pe ON pe.user_id = s.user_id
    ORDER BY s.user_id, s.hour DESC
), endpoint AS (
    SELECT n.user_id, n.equity,
           ls.log_value + CASE WHEN ls.equity > 0 THEN STEP_NOW ELSE 0 END AS log_value
    FROM now_equity n JOIN last_snap ls ON ls.user_id = n.user_id
), start_snap AS (
    SELECT p.period, p.start_hour, e.user_id, s.equity, s.log_value
    FROM periods p CROSS JOIN endpoint e
    JOIN LATERAL (
        SELECT equity, log_value FROM {snap}
        WHERE user_id = e.user_id AND hour <= p.start_hour ORDER BY hour DESC LIMIT 1
    ) s ON true
    WHERE p.period <> 'all'
), start_equity AS (
    SELECT ss.period, ss.user_id, sum(VALUE_START) AS equity
    FROM start_snap ss
    JOIN LATERAL (
        SELECT DISTINCT ON (b.asset_id) b.asset_id, b.holding_after FROM {hb} b
        WHERE b.user_id = ss.user_id AND b.hour <= ss.start_hour
        ORDER BY b.asset_id, b.hour DESC
    ) h ON true
    LEFT JOIN {ap} p ON p.asset_id = h.asset_id AND p.hour = ss.start_hour
    GROUP BY ss.period, ss.user_id
), startpoint AS (
    SELECT ss.period, ss.user_id, se.equity,
           ss.log_value + CASE WHEN ss.equity > 0 THEN STEP_START ELSE 0 END AS log_value
    FROM start_snap ss JOIN start_equity se ON se.period = ss.period AND se.user_id = ss.user_id
), in_period AS (
    SELECT p.period, s.user_id, s.hour, s.flow, s.trades, s.volume, s.log_value
    FROM periods p JOIN {snap} s ON s.hour > p.start_hour
    JOIN endpoint e ON e.user_id = s.user_id
), sums AS (
    SELECT period, user_id, sum(flow) AS flow, sum(trades) AS trades, sum(volume) AS volume
    FROM in_period GROUP BY period, user_id
), days AS (
    SELECT period, user_id, date_trunc('day', hour) AS day, sum(trades) AS trades,
           (array_agg(log_value ORDER BY hour DESC))[1] AS close
    FROM in_period GROUP BY period, user_id, date_trunc('day', hour)
), day_moves AS (
    SELECT d.period, d.user_id, d.trades, d.close,
           COALESCE(lag(d.close) OVER (PARTITION BY d.period, d.user_id ORDER BY d.day),
                    sp.log_value, 0) AS open
    FROM days d LEFT JOIN startpoint sp ON sp.period = d.period AND sp.user_id = d.user_id
), wins AS (
    SELECT period, user_id,
           count(*) FILTER (WHERE trades > 0) AS trading_days,
           count(*) FILTER (WHERE trades > 0 AND close > open) AS winning_days
    FROM day_moves GROUP BY period, user_id
), series AS (
    SELECT period, user_id, hour, log_value FROM in_period
    UNION ALL
    SELECT p.period, e.user_id, '-infinity'::timestamptz, COALESCE(sp.log_value, 0)
    FROM periods p CROSS JOIN endpoint e
    LEFT JOIN startpoint sp ON sp.period = p.period AND sp.user_id = e.user_id
    UNION ALL
    SELECT p.period, e.user_id, 'infinity'::timestamptz, e.log_value
    FROM periods p CROSS JOIN endpoint e
), drawdowns AS (
    SELECT period, user_id, max(peak - log_value) AS drawdown FROM (
        SELECT period, user_id, log_value,
               max(log_value) OVER (PARTITION BY period, user_id ORDER BY hour
                                    ROWS UNBOUNDED PRECEDING) AS peak
        FROM series
    ) s GROUP BY period, user_id
), rows AS (
    SELECT p.period, e.user_id, pe.is_bot, e.equity,
           least(e.log_value - COALESCE(sp.log_value, 0), 50) AS growth,
           e.equity - COALESCE(sp.equity, 0) - COALESCE(su.flow, 0) AS pnl,
           COALESCE(su.trades, 0) AS trades, COALESCE(su.volume, 0) AS volume,
           CASE WHEN w.trading_days > 0
                THEN round(100.0 * w.winning_days / w.trading_days, 2) END AS win_rate,
           round(((1 - exp(-dd.drawdown::float8)) * 100)::numeric, 2) AS max_drawdown_pct,
           e.equity >= %(min_equity)s AND COALESCE(su.trades, 0) >= %(min_trades)s AS eligible
    FROM periods p CROSS JOIN endpoint e
    JOIN people pe ON pe.user_id = e.user_id
    LEFT JOIN startpoint sp ON sp.period = p.period AND sp.user_id = e.user_id
    LEFT JOIN sums su ON su.period = p.period AND su.user_id = e.user_id
    LEFT JOIN wins w ON w.period = p.period AND w.user_id = e.user_id
    LEFT JOIN drawdowns dd ON dd.period = p.period AND dd.user_id = e.user_id
)
INSERT INTO {lb} (period, user_id, is_bot, eligible, rank_return, rank_pnl, rank_return_human,
                  rank_pnl_human, return_pct, pnl, win_rate, max_drawdown_pct, trades, volume,
                  equity)
SELECT period, user_id, is_bot, eligible,
       CASE WHEN eligible THEN row_number() OVER (
           PARTITION BY period, eligible ORDER BY growth DESC, user_id) END,
       CASE WHEN eligible THEN row_number() OVER (
           PARTITION BY period, eligible ORDER BY pnl DESC, user_id) END,
       CASE WHEN eligible AND NOT is_bot THEN row_number() OVER (
           PARTITION BY period, eligible, is_bot ORDER BY growth DESC, user_id) END,
       CASE WHEN eligible AND NOT is_bot THEN row_number() OVER (
           PARTITION BY period, eligible, is_bot ORDER BY pnl DESC, user_id) END,
       round(((exp(growth::float8) - 1) * 100)::numeric, 4),
       pnl, win_rate, max_drawdown_pct, trades, volume, equity
FROM rows
""".replace("VALUE_NOW", _value("h.holding_after", "h.asset_id", "p.price"))
    .replace("VALUE_START", _value("h.holding_after", "h.asset_id", "p.price"))
    .replace("STEP_NOW", _log_step("n.equity / ls.equity"))
    .replace("STEP_START", _log_step("se.equity / ss.equity"))
)

_STATE_SAVE = _sql(
    """
INSERT INTO {state} (id, fill_watermark, entry_watermark, computed_at)
VALUES (1, %(fill_hi)s, %(entry_hi)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET fill_watermark = EXCLUDED.fill_watermark,
    entry_watermark = EXCLUDED.entry_watermark, computed_at = EXCLUDED.computed_at
"""
)

_TRUNCATE = _sql("TRUNCATE {hb}, {ap}, {snap}, {lb}, {state}")


def sources_high_water() -> tuple[int, int]:
    """The highest fill and ledger entry ids that are safe to consume: a brief SHARE lock on
    each table waits for the transactions inserting into it to end, so every id at or below
    the answer is committed or rolled back (ids are handed out at insert time, so any later
    insert gets a higher one). Run in its own short transaction: the lock blocks inserts."""
    with connection.cursor() as cursor:
        cursor.execute(_sql("LOCK TABLE {fill}, {entry} IN SHARE MODE"))
        cursor.execute(
            _sql(
                "SELECT (SELECT COALESCE(max(id), 0) FROM {fill}), "
                "(SELECT COALESCE(max(id), 0) FROM {entry})"
            )
        )
        fill_hi, entry_hi = cursor.fetchone()
    return int(fill_hi), int(entry_hi)


def rankings_lock() -> None:
    """Serialise refreshes and rebuilds (the caller's transaction holds it until it ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RANKINGS_LOCK_KEY])


def tables_truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TRUNCATE)


def watermarks_get() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(_sql("SELECT fill_watermark, entry_watermark FROM {state} WHERE id = 1"))
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def pipeline_run(
    *,
    now: datetime,
    reference_asset_id: int,
    fill_range: tuple[int, int],
    entry_range: tuple[int, int],
    min_equity: Decimal,
    min_trades: int,
    full: bool = False,
) -> None:
    """Steps 1-5 of the module docstring, in the caller's transaction (which holds the
    rankings lock). ``*_range`` are (exclusive low, inclusive high) id bounds; ``full``: the
    tables are empty (a rebuild), so the buckets are written in one insert."""
    params: dict[str, Any] = {
        "fill_lo": fill_range[0],
        "fill_hi": fill_range[1],
        "entry_lo": entry_range[0],
        "entry_hi": entry_range[1],
        "flow_kinds": list(CASH_FLOW_KINDS),
        "ref": reference_asset_id,
        "now": now,
        "now_hour": now.replace(minute=0, second=0, microsecond=0),
        "min_equity": min_equity,
        "min_trades": min_trades,
        "hp0": None,
    }
    with connection.cursor() as cursor:

        def run(name: str, statement: str) -> None:
            started = time.perf_counter()
            cursor.execute(statement, params)
            logger.debug("rankings %s: %.3f s", name, time.perf_counter() - started)

        run("delta", _DELTA)
        if full:
            run("buckets", _BUCKETS_FULL)
        else:
            run("buckets", _BUCKETS_ADD)
            run("holdings", _HOLDINGS_RUN)
        run("prices", _PRICES)
        run("prices diff", _PRICES_FIRST_CHANGE)
        params["hp0"] = cursor.fetchone()[0]
        if params["hp0"] is not None:
            for statement in _PRICES_REPLACE:
                run("prices replace", statement)
        run("dirty", _DIRTY)
        run("snapshots delete", _SNAPSHOTS_DELETE)
        run("snapshots", _SNAPSHOTS_INSERT)
        run("leaderboard delete", _sql("DELETE FROM {lb}"))
        run("leaderboard", _LEADERBOARD)
        run("state", _STATE_SAVE)
        for temp in ("rk_delta", "rk_price", "rk_dirty"):
            cursor.execute(f"DROP TABLE {temp}")
