"""The rankings pipeline in set-based SQL, executed in PostgreSQL (docs/rankings.md).

One refresh, in one transaction, from the watermarks in ``RankingsState``:

1. ``rk_delta``: the new fills and cash-flow ledger entries, summed per user, asset and hour.
2. ``AssetPrice``: every asset's value in the reference asset per hour, recomputed from the
   markets' hourly candles (it is small) and compared with the stored one: the hours whose
   prices changed are replaced. The open hour's is the previous hour's close, so a price move
   inside the hour changes no snapshot; the leaderboards rank at the live prices.
3. ``Snapshot``: recomputed for the users with new deltas or a snapshot at a changed price
   hour, from the first such hour on. A snapshot carries its holdings, so the first one
   recomputed starts from the stored one before it, never from older history.
4. ``PeriodState``: per period and opted-in trader, the summary of the period's closed hours.
   Recomputed from the snapshots only for traders whose past changed, who are new to the
   rankings, or whose period start just passed one of their snapshots; when the hour moves on,
   the others add the previous hour's snapshot to their summary.
5. ``TraderMark`` and ``LeaderboardRow``: per trader their last snapshot's holdings, per period
   and trader what of the figures does not move with the current prices; rewritten only for
   the traders whose history changed (everyone when the hour moves on). Then every trader is
   ranked at the current prices from those two tables (one ordered aggregate per period and
   ranking) and only ``LeaderboardPage`` is written; the reads compute the figures that move
   with prices. Skipped when none of what they are computed from changed (same hour, nothing
   new, no price, state or mark changed, the same traders and rules).

A full rebuild empties the tables and runs the same steps from watermark 0 (every trader new),
except that steps 1 and 3 are one statement with a column per asset (``_snapshots_pivot``), so
both give the same rows (a hypothesis test compares them). Every sum is of exact numerics; the
only floats are the per-step logs of unit-value growth, each rounded to ``LOG_PLACES`` before it
is summed, so the grouping of the sums never changes a digit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models

from accounts.models import User
from markets.models import Candle, TradingPair
from orders.models import Fill
from rankings.models import (
    RANKS_PER_PAGE,
    AssetPrice,
    LeaderboardPage,
    LeaderboardRow,
    Period,
    PeriodState,
    RankingsState,
    Snapshot,
    TraderMark,
)
from tradehive.db_router import read_alias
from tradehive.sql import prepared_cursor
from wallets.models import Account, Asset, JournalTransaction, LedgerEntry

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

# Memory for one sort or hash of the pipeline (SET LOCAL, this transaction only).
REFRESH_WORK_MEM = "64MB"
REBUILD_WORK_MEM = "256MB"

# Hours from a period's start to now ("all" has no start).
PERIOD_HOURS = {"day": 24, "week": 24 * 7, "month": 24 * 30}

_T = {
    "fill": Fill._meta.db_table,
    "pair": TradingPair._meta.db_table,
    "entry": LedgerEntry._meta.db_table,
    "journal": JournalTransaction._meta.db_table,
    "account": Account._meta.db_table,
    "user": User._meta.db_table,
    "candle": Candle._meta.db_table,
    "ap": AssetPrice._meta.db_table,
    "snap": Snapshot._meta.db_table,
    "ps": PeriodState._meta.db_table,
    "lb": LeaderboardRow._meta.db_table,
    "page": LeaderboardPage._meta.db_table,
    "mark": TraderMark._meta.db_table,
    "asset": Asset._meta.db_table,
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


def _utc_day(hour: str) -> str:
    return f"({hour} AT TIME ZONE 'UTC')::date"


# PeriodState's summary columns, in table order, and the same summary with one more (later)
# snapshot ``e`` appended: used when the hour moves on (the previous hour becomes closed) and,
# unsaved, to add the current hour's snapshot when the figures are computed. A scan of the
# closed snapshots (``_STATE_SCAN``) gives the same values as appending them one by one.
SUMMARY_COLUMNS = (
    "closed_snapshots",
    "closed_flow",
    "closed_trades",
    "closed_volume",
    "closed_log_max",
    "closed_log_min",
    "closed_drawdown",
    "first_day",
    "first_close",
    "first_trades",
    "last_day",
    "last_close",
    "last_trades",
    "prelast_close",
    "mid_trading_days",
    "mid_winning_days",
)


def _summary_plus(st: str, e: str, when: str = "true", day: str | None = None) -> str:
    day = day or _utc_day(f"{e}.hour")
    # the last day becomes a day "between" when a later day starts (unless it is the first)
    leaves = f"{st}.last_day <> {day} AND {st}.last_day <> {st}.first_day AND {st}.last_trades > 0"
    appended = {
        "closed_snapshots": f"{st}.closed_snapshots + 1",
        "closed_flow": f"{st}.closed_flow + {e}.flow",
        "closed_trades": f"{st}.closed_trades + {e}.trades",
        "closed_volume": f"{st}.closed_volume + {e}.volume",
        "closed_log_max": f"greatest({st}.closed_log_max, {e}.log_value)",
        "closed_log_min": f"least({st}.closed_log_min, {e}.log_value)",
        "closed_drawdown": (
            f"greatest({st}.closed_drawdown, {st}.closed_log_max - {e}.log_value, 0)"
        ),
        "first_day": f"COALESCE({st}.first_day, {day})",
        "first_close": (
            f"CASE WHEN {st}.first_day IS NULL OR {st}.first_day = {day} THEN {e}.log_value "
            f"ELSE {st}.first_close END"
        ),
        "first_trades": (
            f"CASE WHEN {st}.first_day IS NULL THEN {e}.trades "
            f"WHEN {st}.first_day = {day} THEN {st}.first_trades + {e}.trades "
            f"ELSE {st}.first_trades END"
        ),
        "last_day": day,
        "last_close": f"{e}.log_value",
        "last_trades": (
            f"CASE WHEN {st}.last_day = {day} THEN {st}.last_trades + {e}.trades "
            f"ELSE {e}.trades END"
        ),
        "prelast_close": (
            f"CASE WHEN {st}.last_day = {day} THEN {st}.prelast_close ELSE {st}.last_close END"
        ),
        "mid_trading_days": f"{st}.mid_trading_days + CASE WHEN {leaves} THEN 1 ELSE 0 END",
        "mid_winning_days": (
            f"{st}.mid_winning_days + CASE WHEN {leaves} "
            f"AND {st}.last_close > {st}.prelast_close THEN 1 ELSE 0 END"
        ),
    }
    if when == "true":
        return ",\n".join(f"{appended[c]} AS {c}" for c in SUMMARY_COLUMNS)
    return ",\n".join(
        f"CASE WHEN {when} THEN {appended[c]} ELSE {st}.{c} END AS {c}" for c in SUMMARY_COLUMNS
    )


_STATE_COLUMNS = (
    "period, user_id, start_hour, start_equity, start_log, start_asset_ids, start_held, "
    + ", ".join(SUMMARY_COLUMNS)
)

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

# Every asset in the reference asset, per hour from the first hourly candle to now: a market's
# price at the end of an hour is the close of its last 1h candle so far (``markets`` keeps them
# for book and feed-priced markets alike). Paths (docs/rankings.md): a direct market X-REF (else
# REF-X, inverted); otherwise one hop through an asset Y with a direct market, using the X-Y or
# Y-X market that traded the most X ever (ties: the lower market id). ``rk_price_live``: these
# prices, the open hour's being the current ones (what the leaderboards rank at).
_PRICES = _sql(
    """
CREATE TEMP TABLE rk_price_live ON COMMIT DROP AS
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

# The prices snapshots are marked at (``AssetPrice``): a closed hour's are its close; the open
# hour's are the previous hour's close (docs/rankings.md, "The open hour"), or the current price
# of an asset that had none then. So a price move inside the hour changes no snapshot: the
# snapshots, marks and rows of the traders active in the hour are written again only when they
# trade or move money, and the move reaches every trader alike through the end point (their
# holdings at the live prices). When the hour closes, its snapshots are marked at its close.
_PRICES_MARKED = """
CREATE TEMP TABLE rk_price ON COMMIT DROP AS
SELECT asset_id, hour, price FROM rk_price_live WHERE hour < %(now_hour)s
UNION ALL
SELECT n.asset_id, n.hour, COALESCE(p.price, n.price)
FROM rk_price_live n
LEFT JOIN rk_price_live p ON p.asset_id = n.asset_id AND p.hour = n.hour - interval '1 hour'
WHERE n.hour = %(now_hour)s
"""

_PRICES_CHANGED = _sql(
    """
CREATE TEMP TABLE rk_price_changed ON COMMIT DROP AS
SELECT DISTINCT hour FROM (
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
    _sql("DELETE FROM {ap} WHERE hour IN (SELECT hour FROM rk_price_changed)"),
    _sql(
        "INSERT INTO {ap} (asset_id, hour, price) SELECT asset_id, hour, price FROM rk_price "
        "WHERE hour IN (SELECT hour FROM rk_price_changed)"
    ),
]

# Users whose snapshots change, from which hour: new deltas, or a snapshot at an hour whose
# prices changed (a candle of the current hour, a late trade, a new conversion path).
_DIRTY = _sql(
    """
CREATE TEMP TABLE rk_dirty ON COMMIT DROP AS
SELECT user_id, min(hour) AS h0 FROM (
    SELECT user_id, hour FROM rk_delta
    UNION ALL
    SELECT s.user_id, c.hour FROM rk_price_changed c
    CROSS JOIN LATERAL (SELECT user_id FROM {snap} WHERE hour = c.hour) s
) d GROUP BY user_id
"""
)

# Every (user, hour) to compute: the hours of new deltas and the stored snapshots from h0 on.
_HOURS = _sql(
    """
CREATE TEMP TABLE rk_hours ON COMMIT DROP AS
SELECT DISTINCT user_id, hour FROM (
    SELECT user_id, hour FROM rk_delta
    UNION ALL
    -- per dirty user through the index (OFFSET 0 keeps the planner from turning this into a
    -- join, which it plans as a scan of every snapshot: it cannot know h0 is recent)
    SELECT d.user_id, s.hour FROM rk_dirty d
    CROSS JOIN LATERAL (
        SELECT hour FROM {snap} WHERE user_id = d.user_id AND hour >= d.h0 OFFSET 0
    ) s
) h
"""
)
_HOURS_FULL = (
    "CREATE TEMP TABLE rk_hours ON COMMIT DROP AS SELECT DISTINCT user_id, hour FROM rk_delta"
)

# The amounts per (user, hour, asset): what the stored snapshots say (the holdings carried from
# the last one at or before the hour; the hour's own flows and volume if it is that hour) plus
# the new deltas (a running sum for holdings; the hour's own for flows and volume). A rebuild
# has no stored snapshots, so only the second part, over every hour and asset of every user.
_AMOUNTS_STORED = _sql(
    """
    SELECT c.user_id, c.hour, x.asset_id, x.held,
           CASE WHEN c.o_hour = c.hour THEN x.flowed END AS flowed,
           CASE WHEN c.o_hour = c.hour THEN x.traded END AS traded
    FROM rk_carried c
    CROSS JOIN LATERAL unnest(c.asset_ids, c.held, c.flowed, c.traded)
        AS x(asset_id, held, flowed, traded)
    UNION ALL
"""
)
_AMOUNTS_NEW = """
    SELECT h.user_id, h.hour, a.asset_id,
           sum(COALESCE(d.trade_delta + d.flow_delta, 0)) OVER (
               PARTITION BY h.user_id, a.asset_id ORDER BY h.hour) AS held,
           d.flow_delta AS flowed, d.volume AS traded
    FROM rk_hours h
    JOIN (SELECT DISTINCT user_id, asset_id FROM rk_delta) a ON a.user_id = h.user_id
    LEFT JOIN rk_delta d ON d.user_id = h.user_id AND d.asset_id = a.asset_id AND d.hour = h.hour
"""

_CARRIED = _sql(
    """
CREATE TEMP TABLE rk_carried ON COMMIT DROP AS
SELECT h.user_id, h.hour, o.hour AS o_hour, o.asset_ids, o.held, o.flowed, o.traded, o.trades
FROM rk_hours h
JOIN LATERAL (
    SELECT s.hour, s.asset_ids, s.held, s.flowed, s.traded, s.trades FROM {snap} s
    WHERE s.user_id = h.user_id AND s.hour <= h.hour ORDER BY s.hour DESC LIMIT 1
) o ON true
"""
)

_KEEP = "(a.held <> 0 OR a.flowed <> 0 OR a.traded <> 0)"

_SNAPSHOTS_COMPUTE = """
CREATE TEMP TABLE rk_snap ON COMMIT DROP AS
WITH amounts AS (
    SELECT user_id, hour, asset_id, sum(held) AS held, sum(flowed) AS flowed,
           sum(traded) AS traded
    FROM (AMOUNTS) legs GROUP BY user_id, hour, asset_id
), marked AS (
    SELECT h.user_id, h.hour,
           COALESCE(array_agg(a.asset_id ORDER BY a.asset_id) FILTER (WHERE KEEP), '{}')
               AS asset_ids,
           COALESCE(array_agg(a.held ORDER BY a.asset_id) FILTER (WHERE KEEP), '{}') AS held,
           CASE WHEN bool_or(a.flowed <> 0) THEN array_agg(NULLIF(a.flowed, 0)
               ORDER BY a.asset_id) FILTER (WHERE KEEP) END AS flowed,
           CASE WHEN bool_or(a.traded <> 0) THEN array_agg(NULLIF(a.traded, 0)
               ORDER BY a.asset_id) FILTER (WHERE KEEP) END AS traded,
           COALESCE(sum(VALUE_HELD), 0) AS equity,
           COALESCE(sum(VALUE_FLOW), 0) AS flow,
           COALESCE(sum(VALUE_VOLUME), 0) AS volume
    FROM rk_hours h
    LEFT JOIN amounts a ON a.user_id = h.user_id AND a.hour = h.hour
    LEFT JOIN rk_price p ON p.asset_id = a.asset_id AND p.hour = a.hour
    GROUP BY h.user_id, h.hour
), counts AS (
    SELECT user_id, hour, sum(trades)::int AS trades FROM (
        TRADES_STORED
        SELECT user_id, hour, trades FROM rk_delta
    ) t GROUP BY user_id, hour
), prev AS (
    PREV
), steps AS (
    SELECT m.*, COALESCE(c.trades, 0) AS trades,
           COALESCE(lag(m.equity) OVER (PARTITION BY m.user_id ORDER BY m.hour), prev.equity)
               AS prev_equity,
           COALESCE(prev.log_value, 0) AS base_log
    FROM marked m
    JOIN prev ON prev.user_id = m.user_id
    LEFT JOIN counts c ON c.user_id = m.user_id AND c.hour = m.hour
)
SELECT user_id, hour, equity, flow, trades, volume, asset_ids, held, flowed, traded,
       base_log + sum(CASE WHEN prev_equity IS NULL OR prev_equity <= 0 THEN 0
                           ELSE LOG_STEP END)
           OVER (PARTITION BY user_id ORDER BY hour) AS log_value
FROM steps
"""

# The stored snapshot before each user's first recomputed hour: the chain of steps goes on
# from its equity and log value.
_PREV_STORED = _sql(
    """SELECT d.user_id, s.equity, s.log_value
    FROM rk_dirty d
    LEFT JOIN LATERAL (
        SELECT equity, log_value FROM {snap}
        WHERE user_id = d.user_id AND hour < d.h0 ORDER BY hour DESC LIMIT 1
    ) s ON true"""
)
_PREV_NONE = "SELECT user_id, NULL::numeric AS equity, NULL::numeric AS log_value FROM rk_dirty"


def _snapshots_compute(*, full: bool) -> str:
    return (
        _SNAPSHOTS_COMPUTE.replace("AMOUNTS", ("" if full else _AMOUNTS_STORED) + _AMOUNTS_NEW)
        .replace(
            "TRADES_STORED",
            ""
            if full
            else "SELECT user_id, hour, trades FROM rk_carried WHERE o_hour = hour UNION ALL",
        )
        .replace("PREV", _PREV_NONE if full else _PREV_STORED)
        .replace("KEEP", _KEEP)
        .replace("VALUE_HELD", _value("a.held", "a.asset_id", "p.price"))
        .replace("VALUE_FLOW", _value("a.flowed", "a.asset_id", "p.price"))
        .replace("VALUE_VOLUME", _value("a.traded", "a.asset_id", "p.price"))
        .replace("LOG_STEP", _log_step("(equity - flow) / prev_equity"))
    )


# The rebuild's version of ``_delta`` and ``_snapshots_compute``: the same rows, computed with one
# row per (user, hour) and a column per asset (assets are few) instead of a row per (user, hour,
# asset). The fills and cash flows are summed straight into those columns (one pass over the
# fills, no table of legs: three legs per fill and their grouping cost more than the rest of
# the rebuild), one window carries every holding forward, the marks are sums of products, and
# the arrays are built from the columns. A column of an asset that did not move is 0 or NULL,
# which the arrays and marks treat alike (it is not listed, it adds 0), so the rows equal the
# refresh's. ``array_remove`` drops the assets not listed that hour; an element that is NULL in
# a listed asset's place (no flow, no volume) goes through as NaN, which ``array_replace`` turns
# back.
PIVOT_MAX_ASSETS = 64


def _pivot(asset_ids: list[int]) -> str:
    def each(template: str) -> str:
        return ",\n       ".join(template.format(k=k) for k in asset_ids)

    held = (
        "COALESCE(sum(bq) FILTER (WHERE base_id = {k}), 0)"
        " + COALESCE(sum(qq) FILTER (WHERE quote_id = {k}), 0)"
        " - COALESCE(sum(fee) FILTER (WHERE fee_asset_id = {k}), 0)"
        " + COALESCE(sum(amount) FILTER (WHERE asset_id = {k}), 0) AS d_{k}"
    )
    return _sql(
        f"""
SELECT user_id, hour, count(*) FILTER (WHERE is_fill)::int AS trades,
       {each(held)},
       {each("sum(amount) FILTER (WHERE asset_id = {k}) AS f_{k}")},
       {each("sum(quote_quantity) FILTER (WHERE quote_id = {k}) AS v_{k}")}
FROM (
    SELECT f.user_id, date_trunc('hour', f.created_at) AS hour, true AS is_fill,
           p.base_id, p.quote_id, f.fee_asset_id,
           CASE WHEN f.side = 'buy' THEN f.quantity ELSE -f.quantity END AS bq,
           CASE WHEN f.side = 'buy' THEN -f.quote_quantity ELSE f.quote_quantity END AS qq,
           f.quote_quantity, f.fee, NULL::bigint AS asset_id, NULL::numeric AS amount
    FROM {{fill}} f
    JOIN {{pair}} p ON p.id = f.pair_id
    WHERE f.id > %(fill_lo)s AND f.id <= %(fill_hi)s
    UNION ALL
    SELECT a.user_id, date_trunc('hour', j.created_at), false, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, e.asset_id, e.amount
    FROM {{entry}} e
    JOIN {{account}} a ON a.id = e.account_id
    JOIN {{journal}} j ON j.id = e.journal_id
    WHERE e.id > %(entry_lo)s AND e.id <= %(entry_hi)s
      AND a.kind = 'user' AND j.kind = ANY(%(flow_kinds)s)
) legs
GROUP BY user_id, hour
"""
    )


def _snapshots_pivot(asset_ids: list[int], reference_asset_id: int) -> str:
    # One statement from the fills to the snapshots: the grouping by (user, hour) comes out
    # sorted that way, so the window that carries the holdings forward needs no sort.
    def each(template: str, sep: str = ", ") -> str:
        return sep.join(template.format(k=k) for k in asset_ids)

    keep = "(COALESCE(h_{k}, 0) <> 0 OR COALESCE(f_{k}, 0) <> 0 OR COALESCE(v_{k}, 0) <> 0)"

    def amounts(value: str) -> str:
        return "array_remove(ARRAY[" + each(f"CASE WHEN {keep} THEN {value} END") + "], NULL)"

    def maybe_null(column: str) -> str:
        array = amounts(f"COALESCE(NULLIF({column}_{{k}}, 0), 'NaN')")
        return (
            f"CASE WHEN {each(f'{column}_{{k}} <> 0', ' OR ')} "
            f"THEN array_replace({array}, 'NaN', NULL) END"
        )

    # the reference asset is worth 1; an hour without prices (before the first candle) 0
    def price(k: int) -> str:
        return "1" if k == reference_asset_id else f"COALESCE(x.px[{k}], 0)"

    def marked(column: str) -> str:
        return " + ".join(f"COALESCE(round({column}_{k} * {price(k)}, 18), 0)" for k in asset_ids)

    return _sql(
        f"""
CREATE TEMP TABLE rk_snap ON COMMIT DROP AS
WITH running AS (
    SELECT p.*, {each("sum(d_{k}) OVER w AS h_{k}")}
    FROM (PIVOT) p WINDOW w AS (PARTITION BY user_id ORDER BY hour)
), marked AS (
    SELECT r.user_id, r.hour, r.trades,
           {amounts("{k}::bigint")} AS asset_ids,
           {amounts("COALESCE(h_{k}, 0)")} AS held,
           {maybe_null("f")} AS flowed,
           {maybe_null("v")} AS traded,
           {marked("h")} AS equity, {marked("f")} AS flow, {marked("v")} AS volume
    FROM running r LEFT JOIN rk_px_all x ON x.hour = r.hour
), steps AS (
    SELECT m.*, lag(m.equity) OVER (PARTITION BY m.user_id ORDER BY m.hour) AS prev_equity
    FROM marked m
)
SELECT user_id, hour, equity, flow, trades, volume, asset_ids, held, flowed, traded,
       sum(CASE WHEN prev_equity IS NULL OR prev_equity <= 0 THEN 0 ELSE LOG_STEP END)
           OVER (PARTITION BY user_id ORDER BY hour) AS log_value
FROM steps
""".replace("LOG_STEP", _log_step("(equity - flow) / prev_equity"))
    ).replace("PIVOT", _pivot(asset_ids))


# Prices per hour as arrays by asset id (as rk_px) for every hour with prices (the rebuild
# marks at them; hours before the first candle have none).
_PRICE_ARRAYS_ALL = _sql(
    """
CREATE TEMP TABLE rk_px_all ON COMMIT DROP AS
SELECT h.hour,
       array_agg(CASE WHEN a.id = %(ref)s THEN 1 ELSE p.price END ORDER BY a.id) AS px
FROM (SELECT DISTINCT hour FROM rk_price) h
CROSS JOIN generate_series(1, (SELECT COALESCE(max(id), 0) FROM {asset})) AS a(id)
LEFT JOIN rk_price p ON p.asset_id = a.id AND p.hour = h.hour
GROUP BY h.hour
"""
)


_SNAPSHOTS_INSERT = _sql(
    """
INSERT INTO {snap} (user_id, hour, equity, flow, trades, volume, log_value, units,
                    asset_ids, held, flowed, traded)
SELECT user_id, hour, equity, flow, trades, volume, log_value,
       greatest(least(
           round((equity::float8 / exp(greatest(log_value, -700)::float8))::numeric, 18),
           1e19), -1e19),
       asset_ids, held, flowed, traded
FROM rk_snap
"""
)
# A refresh recomputes every stored snapshot from each dirty user's h0 on (rk_hours), and a
# snapshot never disappears (activity does not), so writing is an upsert.
_SNAPSHOTS_UPSERT = (
    _SNAPSHOTS_INSERT
    + """ON CONFLICT (user_id, hour) DO UPDATE SET equity = EXCLUDED.equity, flow = EXCLUDED.flow,
    trades = EXCLUDED.trades, volume = EXCLUDED.volume, log_value = EXCLUDED.log_value,
    units = EXCLUDED.units, asset_ids = EXCLUDED.asset_ids, held = EXCLUDED.held,
    flowed = EXCLUDED.flowed, traded = EXCLUDED.traded
"""
)

# The periods: the hour each starts at now (s) and at the previous refresh's hour.
_PERIODS = """
CREATE TEMP TABLE rk_periods ON COMMIT DROP AS
SELECT period, start_hour, prev_start FROM (VALUES
    ('day', %(now_hour)s::timestamptz - interval '24 hours',
            %(prev_hour)s::timestamptz - interval '24 hours'),
    ('week', %(now_hour)s::timestamptz - interval '7 days',
             %(prev_hour)s::timestamptz - interval '7 days'),
    ('month', %(now_hour)s::timestamptz - interval '30 days',
              %(prev_hour)s::timestamptz - interval '30 days'),
    ('all', '-infinity'::timestamptz, '-infinity'::timestamptz)
) p(period, start_hour, prev_start)
"""

_PEOPLE = _sql(
    """
CREATE TEMP TABLE rk_people ON COMMIT DROP AS
SELECT id AS user_id, is_bot FROM {user}
WHERE rankings_opt_in AND NOT rankings_excluded AND is_active
"""
)

# The (period, trader) states to recompute from the snapshots: everyone when there is no valid
# state (a rebuild, the first refresh, a clock that went back); otherwise traders new to the
# rankings, traders whose snapshots changed before the hour the states were computed at (a
# change at that hour or later only touches the snapshot appended next, or the current one),
# traders with a snapshot the period's start passed over since the last refresh (it leaves the
# closed hours and becomes the start point), and, when the refresh skipped hours, traders
# active in them.
_RECOMPUTE_ALL = """
CREATE TEMP TABLE rk_recompute ON COMMIT DROP AS
SELECT p.period, p.start_hour, pe.user_id FROM rk_periods p CROSS JOIN rk_people pe
"""
_RECOMPUTE = _sql(
    """
CREATE TEMP TABLE rk_recompute ON COMMIT DROP AS
SELECT DISTINCT p.period, p.start_hour, c.user_id
FROM (
    SELECT NULL::text AS period, user_id FROM rk_dirty WHERE h0 < %(prev_hour)s
    UNION ALL
    LEAVING
    UNION ALL
    SELECT NULL, s.user_id FROM {snap} s
    WHERE s.hour >= %(skipped_from)s AND s.hour < %(now_hour)s
    UNION ALL
    SELECT NULL, pe.user_id FROM rk_people pe
    WHERE NOT EXISTS (SELECT 1 FROM {ps} st WHERE st.period = 'all' AND st.user_id = pe.user_id)
) c
JOIN rk_periods p ON c.period IS NULL OR c.period = p.period
JOIN rk_people pe ON pe.user_id = c.user_id
""".replace(
        "LEAVING",
        "\n    UNION ALL\n".join(
            f"SELECT '{period}', s.user_id FROM {{snap}} s "
            f"WHERE s.hour > %(prev_start_{period})s AND s.hour <= %(start_{period})s"
            for period in PERIOD_HOURS
        ),
    )
)

# A state from the snapshots: the start point, then the closed hours (s, n) summarised.
_STATE_SCAN = _sql(
    """
CREATE TEMP TABLE rk_state ON COMMIT DROP AS
WITH starts AS (
    SELECT r.period, r.user_id, s.hour, s.equity, s.log_value, s.asset_ids, s.held
    FROM rk_recompute r
    JOIN LATERAL (
        SELECT hour, equity, log_value, asset_ids, held FROM {snap}
        WHERE user_id = r.user_id AND hour <= r.start_hour ORDER BY hour DESC LIMIT 1
    ) s ON true
    WHERE r.period <> 'all'
), closed AS (
    SELECT r.period, r.user_id, s.hour, DAY AS day, s.log_value, s.trades, s.flow, s.volume,
           max(s.log_value) OVER running AS peak, sum(s.trades) OVER running AS trades_so_far,
           lead(DAY) OVER (PARTITION BY r.period, r.user_id ORDER BY s.hour) AS next_day
    FROM rk_recompute r
    JOIN {snap} s ON s.user_id = r.user_id AND s.hour > r.start_hour AND s.hour < %(now_hour)s
    WINDOW running AS (PARTITION BY r.period, r.user_id ORDER BY s.hour ROWS UNBOUNDED PRECEDING)
), sums AS (
    SELECT period, user_id, count(*) AS snapshots, sum(flow) AS flow, sum(trades) AS trades,
           sum(volume) AS volume, max(log_value) AS log_max, min(log_value) AS log_min,
           max(peak - log_value) AS drawdown
    FROM closed GROUP BY period, user_id
), days AS (
    -- a day's close is its last snapshot: the next one is on another day (or there is none)
    SELECT period, user_id, day, log_value AS close, trades_so_far
    FROM closed WHERE next_day IS DISTINCT FROM day
), day_seq AS (
    SELECT d.period, d.user_id, d.day, d.close,
           trades_so_far - COALESCE(lag(trades_so_far) OVER w, 0) AS trades,
           lag(close) OVER w AS prev_close, row_number() OVER w AS k,
           count(*) OVER (PARTITION BY period, user_id) AS m
    FROM days d WINDOW w AS (PARTITION BY period, user_id ORDER BY day)
), day_sums AS (
    SELECT period, user_id,
           max(day) FILTER (WHERE k = 1) AS first_day,
           max(close) FILTER (WHERE k = 1) AS first_close,
           max(trades) FILTER (WHERE k = 1) AS first_trades,
           max(day) FILTER (WHERE k = m) AS last_day,
           max(close) FILTER (WHERE k = m) AS last_close,
           max(trades) FILTER (WHERE k = m) AS last_trades,
           max(prev_close) FILTER (WHERE k = m) AS prelast_close,
           count(*) FILTER (WHERE k > 1 AND k < m AND trades > 0) AS mid_trading,
           count(*) FILTER (WHERE k > 1 AND k < m AND trades > 0 AND close > prev_close)
               AS mid_winning
    FROM day_seq GROUP BY period, user_id
)
SELECT r.period, r.user_id, st.hour AS start_hour, st.equity AS start_equity,
       st.log_value AS start_log, st.asset_ids AS start_asset_ids, st.held AS start_held,
       COALESCE(su.snapshots, 0)::int AS closed_snapshots, COALESCE(su.flow, 0) AS closed_flow,
       COALESCE(su.trades, 0)::bigint AS closed_trades, COALESCE(su.volume, 0) AS closed_volume,
       su.log_max AS closed_log_max, su.log_min AS closed_log_min,
       su.drawdown AS closed_drawdown,
       ds.first_day, ds.first_close, ds.first_trades::bigint AS first_trades,
       ds.last_day, ds.last_close, ds.last_trades::bigint AS last_trades, ds.prelast_close,
       COALESCE(ds.mid_trading, 0)::int AS mid_trading_days,
       COALESCE(ds.mid_winning, 0)::int AS mid_winning_days
FROM rk_recompute r
LEFT JOIN starts st ON st.period = r.period AND st.user_id = r.user_id
LEFT JOIN sums su ON su.period = r.period AND su.user_id = r.user_id
LEFT JOIN day_sums ds ON ds.period = r.period AND ds.user_id = r.user_id
""".replace("DAY", _utc_day("s.hour"))
)

# The hour moved on by one: the previous hour's snapshot joins the closed hours of the other
# traders' states (their start point did not move past a snapshot).
_STATE_APPEND = _sql(
    f"""
INSERT INTO rk_state ({_STATE_COLUMNS})
SELECT st.period, st.user_id, st.start_hour, st.start_equity, st.start_log,
       st.start_asset_ids, st.start_held,
       {_summary_plus("st", "e")}
FROM {{ps}} st
JOIN {{snap}} e ON e.user_id = st.user_id AND e.hour = %(prev_hour)s
JOIN rk_people pe ON pe.user_id = st.user_id
WHERE NOT EXISTS (
    SELECT 1 FROM rk_recompute r WHERE r.period = st.period AND r.user_id = st.user_id)
"""
)

_STATE_WRITE = [
    _sql(
        "DELETE FROM {ps} st USING rk_state n WHERE st.period = n.period AND st.user_id = n.user_id"
    ),
    _sql(
        "DELETE FROM {ps} st WHERE NOT EXISTS "
        "(SELECT 1 FROM rk_people pe WHERE pe.user_id = st.user_id)"
    ),
    _sql(f"INSERT INTO {{ps}} ({_STATE_COLUMNS}) SELECT {_STATE_COLUMNS} FROM rk_state"),
]

# Prices at the hours the leaderboard re-marks at (now and the periods' starts), one array per
# hour indexed by asset id (the reference asset 1, no path NULL), so that a holding's value is
# an array subscript, not a join.
_PRICE_ARRAYS = _sql(
    """
CREATE TEMP TABLE rk_px ON COMMIT DROP AS
SELECT h.hour,
       array_agg(CASE WHEN a.id = %(ref)s THEN 1 ELSE p.price END ORDER BY a.id) AS px
FROM (
    SELECT %(now_hour)s::timestamptz AS hour
    UNION SELECT start_hour FROM rk_periods WHERE period <> 'all'
) h
CROSS JOIN generate_series(1, (SELECT COALESCE(max(id), 0) FROM {asset})) AS a(id)
LEFT JOIN rk_price_live p ON p.asset_id = a.id AND p.hour = h.hour
GROUP BY h.hour
"""
)


# The value ``name`` of holdings (parallel ``ids`` and ``amounts`` arrays) at prices ``px``
# (rk_px), as a LATERAL join: computed once per row however often it is referenced (a scalar
# subquery in a CTE is copied, and run again, wherever the CTE's column is used).
def _marked(ids: str, amounts: str, px: str, name: str) -> str:
    return (
        f"LEFT JOIN LATERAL (SELECT COALESCE(sum(round(x.amount * COALESCE({px}[x.asset_id], 0),"
        f" 18)), 0) AS {name} FROM unnest({ids}, {amounts}) AS x(asset_id, amount)) AS {name}"
        " ON true"
    )


# A trader's end point from their ``TraderMark`` ``m`` at the prices ``px`` (an array by asset
# id): ``now_equity`` (the holdings marked) and ``end_log`` (the last snapshot's log unit value
# and one more step to now). A LATERAL subquery: the refresh computes it for every trader to
# rank them, the reads for the traders they show, with the same expression.
def _end_point(m: str, px: str) -> str:
    step = _log_step(f"n.now_equity / {m}.equity")
    return (
        f"(SELECT n.now_equity, {m}.log_value + CASE WHEN {m}.equity > 0 THEN {step} ELSE 0 END"
        f" AS end_log FROM (SELECT COALESCE(sum(round(x.amount * COALESCE({px}[x.asset_id], 0),"
        f" 18)), 0) AS now_equity FROM unnest({m}.asset_ids, {m}.held) AS x(asset_id, amount))"
        " n)"
    )


# The figures that move with prices, from a LeaderboardRow ``r`` and an end point ``e``.
def _growth(r: str, e: str) -> str:
    return f"least({e}.end_log - {r}.start_log, 50)"


def _return_pct(r: str, e: str) -> str:
    return f"round(((exp({_growth(r, e)}::float8) - 1) * 100)::numeric, 4)"


def _pnl(r: str, e: str) -> str:
    return f"{e}.now_equity - {r}.pnl_base"


def _drawdown_pct(r: str, e: str) -> str:
    return (
        f"round(((1 - exp(-greatest({r}.drawdown_log, {r}.peak_log - {e}.end_log, 0)::float8))"
        " * 100)::numeric, 2)"
    )


def _eligible(r: str, e: str, min_equity: str, min_trades: str) -> str:
    return f"({e}.now_equity >= {min_equity} AND {r}.trades >= {min_trades})"


# The periods with the prices at their start hours.
_PERIOD_PX = (
    "CREATE TEMP TABLE rk_period_px ON COMMIT DROP AS SELECT pr.period, pr.start_hour, sp.px "
    "FROM rk_periods pr LEFT JOIN rk_px sp ON sp.hour = pr.start_hour"
)

# Traders whose TraderMark (last snapshot at or before the hour) is written again: those whose
# snapshots changed, those new to the rankings or whose bot label changed, and, when the hour
# moved (on, or back), those with a snapshot between the two hours. Everyone when there is no
# valid state (a rebuild, the first refresh).
_MARK_USERS = _sql(
    """
CREATE TEMP TABLE rk_mark_users ON COMMIT DROP AS
SELECT DISTINCT c.user_id FROM (
    SELECT user_id FROM rk_dirty
    UNION ALL
    SELECT s.user_id FROM {snap} s
    WHERE s.hour > least(%(prev_hour)s::timestamptz, %(now_hour)s)
      AND s.hour <= greatest(%(prev_hour)s::timestamptz, %(now_hour)s)
    UNION ALL
    SELECT pe.user_id FROM rk_people pe LEFT JOIN {mark} m ON m.user_id = pe.user_id
    WHERE m.user_id IS NULL OR m.is_bot <> pe.is_bot
) c
JOIN rk_people pe ON pe.user_id = c.user_id
"""
)
_MARK_USERS_ALL = "CREATE TEMP TABLE rk_mark_users ON COMMIT DROP AS SELECT user_id FROM rk_people"

# Marks and rows are written whole when every trader's are computed again, and upserted (one
# probe of the unique index each) when a few are: a deletion of theirs first was planned as a
# scan of every row. With valid states neither ever disappears but with its trader (the last
# snapshot at or before the hour only moves on; every trader has a state in every period).
# Traders who left the rankings (opted out, excluded, deactivated): their marks go, and their
# rows with them (a trader has rows only with a mark), found from the marks (one row per
# trader) rather than from the rows (four).
_MARKS_GONE = [
    "CREATE TEMP TABLE rk_gone (user_id bigint) ON COMMIT DROP",
    _sql(
        "WITH gone AS (DELETE FROM {mark} m WHERE NOT EXISTS "
        "(SELECT 1 FROM rk_people pe WHERE pe.user_id = m.user_id) RETURNING m.user_id) "
        "INSERT INTO rk_gone SELECT user_id FROM gone"
    ),
]
_MARKS_INSERT = _sql(
    """
INSERT INTO {mark} (user_id, is_bot, hour, equity, log_value, asset_ids, held, flow, trades,
                    volume)
SELECT pe.user_id, pe.is_bot, e.hour, e.equity, e.log_value, e.asset_ids, e.held, e.flow,
       e.trades, e.volume
FROM rk_mark_users u
JOIN rk_people pe ON pe.user_id = u.user_id
JOIN LATERAL (
    SELECT hour, equity, log_value, asset_ids, held, flow, trades, volume FROM {snap}
    WHERE user_id = u.user_id AND hour <= %(now_hour)s ORDER BY hour DESC LIMIT 1
) e ON true
"""
)
_MARKS_UPSERT = (
    _MARKS_INSERT
    + """ON CONFLICT (user_id) DO UPDATE SET is_bot = EXCLUDED.is_bot, hour = EXCLUDED.hour,
    equity = EXCLUDED.equity, log_value = EXCLUDED.log_value, asset_ids = EXCLUDED.asset_ids,
    held = EXCLUDED.held, flow = EXCLUDED.flow, trades = EXCLUDED.trades,
    volume = EXCLUDED.volume
"""
)

# Traders whose LeaderboardRows are computed again: those whose mark or a period state
# changed (the current hour's snapshot is part of the rows); everyone when the hour moved (the
# start points are re-marked at the new start hours' prices), a start hour's prices changed,
# or there is no valid state.
_ROW_USERS = (
    "CREATE TEMP TABLE rk_row_users ON COMMIT DROP AS "
    "SELECT user_id FROM rk_mark_users UNION SELECT user_id FROM rk_state"
)
_ROW_USERS_ALL = "CREATE TEMP TABLE rk_row_users ON COMMIT DROP AS SELECT user_id FROM rk_people"
_START_PRICES_CHANGED = (
    "SELECT EXISTS (SELECT 1 FROM rk_price_changed c JOIN rk_periods p ON p.start_hour = c.hour)"
)

_NOW_DAY = _utc_day("%(now_hour)s::timestamptz")

# The rows of those traders: the start point is the state's start snapshot re-marked at the
# start hour's prices, the current hour's snapshot (if any) is added to the closed summary,
# and what does not move with the current prices follows (docs/rankings.md, "A period").
_ROWS = _sql(
    f"""
CREATE TEMP TABLE rk_rows ON COMMIT DROP AS
WITH ck AS (
    SELECT st.period, m.user_id, m.is_bot,
           CASE WHEN st.start_hour IS NOT NULL THEN start_mark.start_mark END AS start_mark,
           st.start_equity AS start_snap_equity, st.start_log AS start_snap_log,
           {_summary_plus("st", "m", when="m.hour = %(now_hour)s", day=_NOW_DAY)}
    FROM_USERS
    {_marked("st.start_asset_ids", "st.start_held", "pr.px", "start_mark")}
), points AS (
    SELECT ck.*, COALESCE(start_mark, 0) AS start_equity,
           CASE WHEN start_mark IS NULL THEN 0
                ELSE start_snap_log + CASE WHEN start_snap_equity > 0 THEN STEP_START ELSE 0 END
           END AS start_log
    FROM ck
), figures AS (
    SELECT points.*,
           mid_trading_days
             + CASE WHEN first_trades > 0 THEN 1 ELSE 0 END
             + CASE WHEN last_day <> first_day AND last_trades > 0 THEN 1 ELSE 0 END
               AS trading_days,
           mid_winning_days
             + CASE WHEN first_trades > 0 AND first_close > start_log THEN 1 ELSE 0 END
             + CASE WHEN last_day <> first_day AND last_trades > 0
                         AND last_close > prelast_close THEN 1 ELSE 0 END
               AS winning_days
    FROM points
)
SELECT period, user_id, is_bot, start_log, start_equity + closed_flow AS pnl_base,
       greatest(closed_drawdown, start_log - closed_log_min, 0) AS drawdown_log,
       greatest(start_log, closed_log_max) AS peak_log,
       CASE WHEN trading_days > 0
            THEN round(100.0 * winning_days / trading_days, 2) END AS win_rate,
       closed_trades AS trades, closed_volume AS volume
FROM figures
""".replace("STEP_START", _log_step("start_mark / start_snap_equity"))
)
# Every trader (a rebuild, a new hour): joins of whole tables. A few: through the indexes, per
# trader and period (OFFSET 0 keeps the planner from flattening the subqueries into joins that
# it plans, on a period state table just rewritten, as a scan of every state).
_ROWS_ALL = _ROWS.replace(
    "FROM_USERS",
    _sql(
        """FROM rk_row_users u
    JOIN {mark} m ON m.user_id = u.user_id
    JOIN {ps} st ON st.user_id = u.user_id
    JOIN rk_period_px pr ON pr.period = st.period"""
    ),
)
_ROWS = _ROWS.replace(
    "FROM_USERS",
    _sql(
        """FROM rk_row_users u
    CROSS JOIN rk_period_px pr
    JOIN LATERAL (SELECT * FROM {mark} WHERE user_id = u.user_id OFFSET 0) m ON true
    JOIN LATERAL (
        SELECT * FROM {ps} WHERE period = pr.period AND user_id = u.user_id OFFSET 0
    ) st ON true"""
    ),
)

_ROWS_GONE = _sql(
    "DELETE FROM {lb} lb USING rk_gone g, rk_periods p "
    "WHERE lb.period = p.period AND lb.user_id = g.user_id"
)
_ROWS_INSERT = _sql(
    """
INSERT INTO {lb} (period, user_id, is_bot, start_log, pnl_base, drawdown_log, peak_log,
                  win_rate, trades, volume)
SELECT period, user_id, is_bot, start_log, pnl_base, drawdown_log, peak_log, win_rate,
       trades, volume
FROM rk_rows
"""
)
_ROWS_UPSERT = (
    _ROWS_INSERT
    + """ON CONFLICT (period, user_id) DO UPDATE SET is_bot = EXCLUDED.is_bot,
    start_log = EXCLUDED.start_log, pnl_base = EXCLUDED.pnl_base,
    drawdown_log = EXCLUDED.drawdown_log, peak_log = EXCLUDED.peak_log,
    win_rate = EXCLUDED.win_rate, trades = EXCLUDED.trades, volume = EXCLUDED.volume
"""
)

# Every trader's end point at the current prices (one row per trader, for every period).
_ENDS = _sql(
    f"""
CREATE TEMP TABLE rk_end ON COMMIT DROP AS
SELECT m.user_id, e.now_equity, e.end_log
FROM {{mark}} m
CROSS JOIN (SELECT px FROM rk_px WHERE hour = %(now_hour)s) n
CROSS JOIN LATERAL {_end_point("m", "n.px")} e
"""
)

# The eligible traders of every period with their ranking keys at the current prices.
_KEYS = _sql(
    f"""
CREATE TEMP TABLE rk_keys ON COMMIT DROP AS
SELECT r.period, r.user_id, r.is_bot, {_growth("r", "e")} AS growth, {_pnl("r", "e")} AS pnl
FROM {{lb}} r JOIN rk_end e ON e.user_id = r.user_id
WHERE {_eligible("r", "e", "%(min_equity)s", "%(min_trades)s")}
"""
)

# The four rankings of each period as arrays of trader ids in rank order (by return and by PnL,
# descending, ties: the lower id; the same counting humans only). One ordered aggregate per
# period and key: a sort of one period's traders on a numeric key, the cheapest form measured
# (window ranks and a regrouping into pages sorted every (period, trader) row again on several
# keys). A bot's id enters negated, so the humans' order is the same array without its
# negative ids (a filter, not a second sort), and everyone's the absolute values. Cut into
# pages of RANKS_PER_PAGE, with the key and id of each page's last trader.
_RANKING_KEYS = {
    "rank_return": "growth",
    "rank_pnl": "pnl",
    "rank_return_human": "growth",
    "rank_pnl_human": "pnl",
}


def _orders(period: str) -> str:
    def signed(key: str) -> str:
        return (
            f"array_agg(CASE WHEN is_bot THEN -user_id ELSE user_id END ORDER BY {key} DESC,"
            f" user_id) AS by_{key}"
        )

    return (
        f"SELECT '{period}'::text AS period, {signed('growth')}, {signed('pnl')}"
        f" FROM rk_keys WHERE period = '{period}'"
    )


def _ranking_ids(ranking: str) -> str:
    """A ranking's ids in rank order, from its key's signed order (``_orders``)."""
    human = ranking.endswith("_human")
    kept = "WHERE x.id > 0 " if human else ""
    value = "x.id" if human else "abs(x.id)"
    return (
        f"ARRAY(SELECT {value} FROM unnest(o.by_{_RANKING_KEYS[ranking]}) WITH ORDINALITY"
        f" AS x(id, i) {kept}ORDER BY x.i)"
    )


_PAGES = _sql(
    f"""
INSERT INTO {{page}} (period, ranking, chunk, user_ids, last_key, last_user)
WITH orders AS (
    ORDERS
), pages AS MATERIALIZED (
    -- only the slices leave: a sort or join carrying the whole orders costs gigabytes
    SELECT o.period, r.ranking, r.key, g.chunk,
           r.ids[g.chunk * {RANKS_PER_PAGE} + 1 : (g.chunk + 1) * {RANKS_PER_PAGE}] AS user_ids,
           r.ids[least((g.chunk + 1) * {RANKS_PER_PAGE}, cardinality(r.ids))] AS last_user
    FROM orders o
    CROSS JOIN LATERAL (VALUES RANKINGS) AS r(ranking, key, ids)
    CROSS JOIN LATERAL generate_series(0, (cardinality(r.ids) - 1) / {RANKS_PER_PAGE}) AS g(chunk)
)
SELECT p.period, p.ranking, p.chunk, p.user_ids,
       CASE WHEN p.key = 'growth' THEN k.growth ELSE k.pnl END, k.user_id
FROM pages p
JOIN rk_keys k ON k.period = p.period AND k.user_id = p.last_user
""".replace(
        "ORDERS", "\n    UNION ALL\n    ".join(_orders(period) for period in Period.values)
    ).replace(
        "RANKINGS",
        ",\n        ".join(
            f"('{ranking}', '{key}', {_ranking_ids(ranking)})"
            for ranking, key in _RANKING_KEYS.items()
        ),
    )
)

# Nothing the rankings are computed from changed since the last refresh in the same hour (no
# new fill or cash flow, no price at any hour, no period state, mark or trader, the same
# eligibility rules): the pages and ranks would be written again identical, so they are kept.
_RANKINGS_UNCHANGED = _sql(
    """
SELECT NOT EXISTS (SELECT 1 FROM rk_delta)
   AND NOT EXISTS (SELECT 1 FROM rk_price_changed)
   AND NOT EXISTS (SELECT 1 FROM rk_recompute)
   AND NOT EXISTS (SELECT 1 FROM rk_mark_users)
   AND COALESCE((SELECT min_equity = %(min_equity)s AND min_trades = %(min_trades)s
                        AND prices IS NOT DISTINCT FROM (
                            SELECT px FROM rk_px WHERE hour = %(now_hour)s)
                 FROM {state} WHERE id = 1), false)
"""
)

_STATE_SAVE = _sql(
    """
INSERT INTO {state} (id, fill_watermark, entry_watermark, now_hour, computed_at, prices,
                     min_equity, min_trades)
VALUES (1, %(fill_hi)s, %(entry_hi)s, %(now_hour)s, %(now)s,
        (SELECT px FROM rk_px WHERE hour = %(now_hour)s), %(min_equity)s, %(min_trades)s)
ON CONFLICT (id) DO UPDATE SET fill_watermark = EXCLUDED.fill_watermark,
    entry_watermark = EXCLUDED.entry_watermark, now_hour = EXCLUDED.now_hour,
    computed_at = EXCLUDED.computed_at, prices = EXCLUDED.prices,
    min_equity = EXCLUDED.min_equity, min_trades = EXCLUDED.min_trades
"""
)

_TRUNCATE = _sql("TRUNCATE {ap}, {snap}, {ps}, {lb}, {mark}, {page}, {state}")

_TEMP_TABLES = (
    "rk_delta",
    "rk_price",
    "rk_price_live",
    "rk_price_changed",
    "rk_dirty",
    "rk_hours",
    "rk_carried",
    "rk_snap",
    "rk_periods",
    "rk_people",
    "rk_recompute",
    "rk_state",
    "rk_px",
    "rk_period_px",
    "rk_mark_users",
    "rk_gone",
    "rk_row_users",
    "rk_rows",
    "rk_end",
    "rk_keys",
    "rk_px_all",
)


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


def state_get() -> tuple[int, int, datetime | None]:
    """The fill and entry watermarks and the hour the period states are current for."""
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("SELECT fill_watermark, entry_watermark, now_hour FROM {state} WHERE id = 1")
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1]), row[2]) if row else (0, 0, None)


@contextmanager
def _indexes_dropped(model: type[models.Model]) -> Iterator[None]:
    """A rebuild writes ``model``'s table whole: its indexes and unique constraints are
    dropped for the insert and built again after it (from the model's Meta, so they cannot
    drift), which halves the write. The caller's transaction already holds the table's
    exclusive lock (TRUNCATE), and a failure rolls the DDL back with everything else."""
    constraints, indexes = list(model._meta.constraints), list(model._meta.indexes)
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.remove_constraint(model, constraint)
        for index in indexes:
            editor.remove_index(model, index)
    yield
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.add_constraint(model, constraint)
        for index in indexes:
            editor.add_index(model, index)


def _assets(cursor: Any) -> list[int]:
    cursor.execute(_sql("SELECT id FROM {asset} ORDER BY id"))
    return [int(asset_id) for (asset_id,) in cursor.fetchall()]


def pipeline_run(
    *,
    now: datetime,
    reference_asset_id: int,
    fill_range: tuple[int, int],
    entry_range: tuple[int, int],
    prev_hour: datetime | None,
    min_equity: Decimal,
    min_trades: int,
    full: bool = False,
) -> None:
    """Steps 1-5 of the module docstring, in the caller's transaction (which holds the
    rankings lock). ``*_range`` are (exclusive low, inclusive high) id bounds; ``prev_hour``:
    the hour the stored period states are for (None: none are valid); ``full``: the tables
    are empty (a rebuild), so no stored snapshot is read."""
    now_hour = now.replace(minute=0, second=0, microsecond=0)
    params: dict[str, Any] = {
        "fill_lo": fill_range[0],
        "fill_hi": fill_range[1],
        "entry_lo": entry_range[0],
        "entry_hi": entry_range[1],
        "flow_kinds": list(CASH_FLOW_KINDS),
        "ref": reference_asset_id,
        "now": now,
        "now_hour": now_hour,
        "prev_hour": prev_hour,
        # more than one hour since the last refresh: the hours in between are recomputed
        "skipped_from": prev_hour
        if prev_hour and now_hour - prev_hour > timedelta(hours=1)
        else None,
        **{
            f"{name}_{period}": None if hour is None else hour - timedelta(hours=hours)
            for period, hours in PERIOD_HOURS.items()
            for name, hour in (("start", now_hour), ("prev_start", prev_hour))
        },
        "min_equity": min_equity,
        "min_trades": min_trades,
    }
    states_valid = not full and prev_hour is not None and prev_hour <= now_hour
    with connection.cursor() as cursor:

        def run(name: str, statement: str) -> int:
            started = time.perf_counter()
            cursor.execute(statement, params)
            logger.debug("rankings %s: %.3f s", name, time.perf_counter() - started)
            return max(cursor.rowcount, 0)

        # Small temp tables are planned from statistics like any other: without them the
        # planner guesses, and a nested loop over a guessed-small side can cost seconds.
        def analyze(*tables: str) -> None:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")

        # For this transaction only: the statements are planned as big (costs of millions
        # on guessed row counts) but run on few rows, and compiling them (JIT) took seconds
        # on a refresh; sorts and hashes of a rebuild spill to disk at the default work_mem.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM if full else REFRESH_WORK_MEM}'")
        pivot_assets = _assets(cursor) if full else []
        pivot = full and 0 < len(pivot_assets) <= PIVOT_MAX_ASSETS
        if not pivot:
            run("delta", _DELTA)
        run("prices", _PRICES)
        run("prices marked", _PRICES_MARKED)
        run("prices changed", _PRICES_CHANGED)
        analyze("rk_price_changed")
        for statement in _PRICES_REPLACE:
            run("prices replace", statement)
        analyze("rk_price", *([] if pivot else ["rk_delta"]))
        if pivot:
            run("price arrays (all hours)", _PRICE_ARRAYS_ALL)
            analyze("rk_px_all")
            # Measured at 1 M fills: a sort and a group aggregate in one process beat hashing
            # (a million groups spill) and parallel workers (partial sums of numerics cost
            # more to pass on than to make).
            cursor.execute("SET LOCAL enable_hashagg = off")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            run("snapshots compute", _snapshots_pivot(pivot_assets, reference_asset_id))
            cursor.execute("RESET enable_hashagg")
            cursor.execute("RESET max_parallel_workers_per_gather")
        else:
            run("dirty", _DIRTY)
            analyze("rk_dirty")
            run("hours", _HOURS_FULL if full else _HOURS)
            analyze("rk_hours")
            if not full:
                run("carried", _CARRIED)
                analyze("rk_carried")
            run("snapshots compute", _snapshots_compute(full=full))
        if full:
            with _indexes_dropped(Snapshot):
                run("snapshots write", _SNAPSHOTS_INSERT)
        else:
            run("snapshots write", _SNAPSHOTS_UPSERT)
        run("periods", _PERIODS)
        run("people", _PEOPLE)
        analyze("rk_periods", "rk_people")
        run("recompute", _RECOMPUTE if states_valid else _RECOMPUTE_ALL)
        analyze("rk_recompute")
        run("state scan", _STATE_SCAN)
        if states_valid and prev_hour is not None and now_hour - prev_hour == timedelta(hours=1):
            run("state append", _STATE_APPEND)
        for statement in _STATE_WRITE:
            run("state write", statement)
        # The leaderboards (docs/rankings.md, "The leaderboards"): the marks and rows of the
        # traders whose history changed, then every trader ranked at the current prices from
        # them, and only the pages and ranks written.
        same_hour = states_valid and prev_hour == now_hour
        run("price arrays", _PRICE_ARRAYS)
        run("period prices", _PERIOD_PX)
        run("mark users", _MARK_USERS if states_valid else _MARK_USERS_ALL)
        analyze("rk_mark_users")
        # gone: marks and rows of traders who left the rankings (opted out, excluded)
        if states_valid:
            run("gone", _MARKS_GONE[0])
            gone = run("marks gone", _MARKS_GONE[1])
            run("marks write", _MARKS_UPSERT)
        else:
            gone = run("marks delete", _sql("DELETE FROM {mark}"))
            run("marks write", _MARKS_INSERT)
        start_changed = True
        if same_hour:
            cursor.execute(_START_PRICES_CHANGED)
            (start_changed,) = cursor.fetchone()
        run("row users", _ROW_USERS_ALL if start_changed else _ROW_USERS)
        analyze("rk_row_users")
        run("rows", _ROWS_ALL if start_changed else _ROWS)
        if start_changed:
            gone += run("rows delete", _sql("DELETE FROM {lb}"))
            run("rows write", _ROWS_INSERT)
        else:
            if gone:
                run("rows gone", _ROWS_GONE)
            run("rows write", _ROWS_UPSERT)
        unchanged = False
        if same_hour and not start_changed and not gone:
            run("unchanged?", _RANKINGS_UNCHANGED)
            (unchanged,) = cursor.fetchone()
        if not unchanged:
            run("ends", _ENDS)
            run("keys", _KEYS)
            analyze("rk_keys")
            run("pages delete", _sql("DELETE FROM {page}"))
            run("pages", _PAGES)
        run("state", _STATE_SAVE)
        if full:
            # Statistics of the tables just written whole, for the refreshes and the reads that
            # follow before autovacuum gets to them (measured: with those of the tables before
            # the rebuild, a profile's rank probes scanned every page of a ranking, 15 ms).
            analyze(*(_T[name] for name in ("ap", "snap", "ps", "lb", "mark", "page")))
        for temp in _TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")


# Reads of the API and pages (selectors). Each row also carries what the answer shows besides
# the rows (when the rankings were computed, the reference asset's decimals), so that a page
# is one statement.
_META = _sql(
    "(SELECT computed_at FROM {state} WHERE id = 1) AS rankings_computed_at, "
    "(SELECT decimals FROM {asset} WHERE symbol = %(reference)s) AS reference_places"
)

# The stored columns a read shows (named, not ``lb.*``: a prepared statement whose result
# columns change with a migration fails until its connection closes).
_LB_SHOWN = "lb.period, lb.user_id, lb.is_bot, lb.win_rate, lb.trades, lb.volume"

# What a read shows besides a row's stored columns: the figures that move with prices, from the
# trader's mark at the prices the last refresh ranked at (``RankingsState.prices``), by the
# same expressions as the ranking.
_SHOWN = (
    f"e.now_equity AS equity, {_return_pct('lb', 'e')} AS return_pct, {_pnl('lb', 'e')} AS pnl, "
    f"{_drawdown_pct('lb', 'e')} AS max_drawdown_pct"
)
_MARKED_NOW = _sql(
    f"""JOIN {{mark}} m ON m.user_id = lb.user_id
CROSS JOIN (SELECT prices, min_equity, min_trades FROM {{state}} WHERE id = 1) st
CROSS JOIN LATERAL {_end_point("m", "st.prices")} e"""
)

# Reads of the API and pages (selectors): a ranking's ranks first..last from its pages, with the
# traders' rows and handles, in one statement (one snapshot, even while a refresh commits).
# The bounds come through a MATERIALIZED CTE so that no plan knows them: with them as plain
# parameters, a custom plan saw one page where the generic plan guessed a range of them, so
# PostgreSQL kept planning the statement on every execution (3.2 ms of planning for 2.4 ms of
# execution at 100,000 traders); now both plans cost the same and the generic one is kept.
PAGE_ROWS = _sql(
    f"""
WITH q AS MATERIALIZED (SELECT %(first)s::bigint AS first, %(last)s::bigint AS last)
SELECT LB_SHOWN, x.rank, u.handle, SHOWN, META
FROM q
JOIN {{page}} pg
  ON pg.chunk BETWEEN (q.first - 1) / {RANKS_PER_PAGE} AND (q.last - 1) / {RANKS_PER_PAGE}
CROSS JOIN LATERAL (
    SELECT pg.chunk::bigint * {RANKS_PER_PAGE} + o.i AS rank, o.user_id
    FROM unnest(pg.user_ids) WITH ORDINALITY AS o(user_id, i)
) x
JOIN {{lb}} lb ON lb.period = pg.period AND lb.user_id = x.user_id
MARKED_NOW
JOIN {{user}} u ON u.id = lb.user_id
WHERE pg.period = %(period)s AND pg.ranking = %(ranking)s AND x.rank BETWEEN q.first AND q.last
ORDER BY x.rank
""".replace("META", _META)
    .replace("LB_SHOWN", _LB_SHOWN)
    .replace("SHOWN", _SHOWN)
    .replace("MARKED_NOW", _MARKED_NOW)
)


# A trader's rank in a ranking: the page that holds them is the first, in rank order, whose
# last trader is not ranked before them: same key and an id at least theirs, or a lower key
# (two probes of the (period, ranking, key, id) index); then their place in it. NULL when they
# are not in the ranking (not eligible).
def _rank_of(ranking: str, key: str) -> str:
    probe = (
        "(SELECT chunk, user_ids FROM {{page}} WHERE period = f.period AND ranking = '"
        + ranking
        + "' AND {cond} ORDER BY last_key DESC, last_user LIMIT 1)"
    )
    same = probe.format(cond=f"last_key = f.{key} AND last_user >= f.user_id")
    lower = probe.format(cond=f"last_key < f.{key}")
    return (
        f"(SELECT p.chunk::bigint * {RANKS_PER_PAGE} + array_position(p.user_ids, f.user_id) "
        f"FROM ({same} UNION ALL {lower}) p ORDER BY p.chunk LIMIT 1)"
    )


# A trader's rows of every period: one probe of the (period, user_id) index per period (on
# user_id alone the index does not apply, and every row of every trader is read), with the
# figures at the last refresh's prices and the ranks found in the pages from the trader's keys
# (computed first, MATERIALIZED: inlined, the keys' subquery ran again for every page the
# probes read, and a key that is not a plain value cannot bound the index scan).
PROFILE_ROWS = _sql(
    """
WITH f AS MATERIALIZED (
    SELECT LB_SHOWN, SHOWN, ELIGIBLE AS eligible, KEY_GROWTH AS key_return, KEY_PNL AS key_pnl,
           META
    FROM {lb} lb
    MARKED_NOW
    WHERE lb.period IN (PERIODS) AND lb.user_id = %(user_id)s
)
SELECT f.*, RANK_RETURN AS rank_return, RANK_PNL AS rank_pnl FROM f ORDER BY f.period
""".replace("META", _META)
    .replace("LB_SHOWN", _LB_SHOWN)
    .replace("SHOWN", _SHOWN)
    .replace("ELIGIBLE", _eligible("lb", "e", "st.min_equity", "st.min_trades"))
    .replace("KEY_GROWTH", _growth("lb", "e"))
    .replace("KEY_PNL", _pnl("lb", "e"))
    .replace("RANK_RETURN", _rank_of("rank_return", "key_return"))
    .replace("RANK_PNL", _rank_of("rank_pnl", "key_pnl"))
    .replace("MARKED_NOW", _MARKED_NOW)
    .replace("PERIODS", ", ".join(f"'{p}'" for p in Period.values))
)

# A trader's holdings at their last snapshot of the last refresh, valued at the prices that
# refresh ranked at (``RankingsState.prices``: by asset id, the reference asset 1).
HOLDINGS_VALUED = _sql(
    """
SELECT a.symbol, round(x.amount * COALESCE(st.prices[x.asset_id], 0), 18) AS value
FROM {state} st
JOIN LATERAL (
    SELECT s.asset_ids, s.held FROM {snap} s
    WHERE s.user_id = %(user_id)s AND s.hour <= st.now_hour ORDER BY s.hour DESC LIMIT 1
) s ON true
CROSS JOIN LATERAL unnest(s.asset_ids, s.held) AS x(asset_id, amount)
JOIN {asset} a ON a.id = x.asset_id
WHERE st.id = 1
"""
)

# A trader's equity curve: the last ``%(points)s`` snapshots' return since the first deposit,
# oldest first (a display figure: the float exp is rounded to 2 places), each at the end of its
# hour (or now, for the current hour), formatted as the API shows them (ISO 8601 UTC with
# milliseconds, 2 decimals): hundreds of points per profile, and reading timestamps and
# numerics into Python objects to format them again took a third of a profile's request.
CURVE = _sql(
    """
SELECT to_char(least(hour + interval '1 hour', %(now)s) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       round(((exp(greatest(log_value, -700)::float8) - 1) * 100)::numeric, 2)::text
FROM (
    SELECT hour, log_value FROM {snap} WHERE user_id = %(user_id)s
    ORDER BY hour DESC LIMIT %(points)s
) s ORDER BY hour
"""
)


# The reads are prepared (``prepared_cursor``) on the connection the router gives them (the
# replica when there is one): planning the page's statement cost more than running it (3.2 ms
# against 2.4 ms at 100,000 traders), and once PostgreSQL settles on its generic plan (the
# same index probes, measured: docs/decisions.md "Rankings") a request only runs it.
def _read(statement: str, params: dict[str, Any], model: type[models.Model]) -> list[Any]:
    with prepared_cursor(read_alias(model)) as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def _read_named(
    statement: str, params: dict[str, Any], model: type[models.Model]
) -> list[dict[str, Any]]:
    with prepared_cursor(read_alias(model)) as cursor:
        cursor.execute(statement, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def page_rows(
    *, period: str, ranking: str, first: int, last: int, reference: str
) -> list[dict[str, Any]]:
    """``PAGE_ROWS``: the ranks ``first``..``last`` of a ranking, a dict of columns each."""
    params = {
        "period": period,
        "ranking": ranking,
        "first": first,
        "last": last,
        "reference": reference,
    }
    return _read_named(PAGE_ROWS, params, LeaderboardPage)


def profile_rows(*, user_id: int, reference: str) -> list[dict[str, Any]]:
    """``PROFILE_ROWS``: a trader's row of each period they have one in, a dict of columns."""
    return _read_named(PROFILE_ROWS, {"user_id": user_id, "reference": reference}, LeaderboardRow)


# A trader who shows in the rankings, by handle in lower case (the unique index on
# lower(handle) answers it).
PUBLIC_TRADER = _sql(
    """
SELECT id, handle, is_bot FROM {user}
WHERE lower(handle) = %(handle_lower)s AND rankings_opt_in AND NOT rankings_excluded AND is_active
"""
)


def public_trader(*, handle_lower: str) -> tuple[int, str, bool] | None:
    """(id, handle, is_bot) of ``PUBLIC_TRADER``, or None."""
    rows = _read(PUBLIC_TRADER, {"handle_lower": handle_lower}, User)
    return rows[0] if rows else None


def holdings_valued(*, user_id: int) -> list[tuple[str, Decimal]]:
    return [
        (symbol, value) for symbol, value in _read(HOLDINGS_VALUED, {"user_id": user_id}, Snapshot)
    ]


def curve(*, user_id: int, points: int, now: datetime) -> list[tuple[str, str]]:
    """(ISO time, return % at 2 places) per point: ``CURVE``."""
    params = {"user_id": user_id, "points": points, "now": now}
    return [(at, pct) for at, pct in _read(CURVE, params, Snapshot)]
