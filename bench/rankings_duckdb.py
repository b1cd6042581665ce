# ruff: noqa: S608, E501 - SQL from literal table names; the SQL lines read better unbroken.
"""DuckDB beside PostgreSQL for the heavy part of the rankings rebuild (docs/decisions.md
"Rankings"): a measurement, not a path of the application.

Usage: ``DATABASE_URL=postgres://.../<bench db> python bench/rankings_duckdb.py`` on a database
left by ``bench/rankings.py --keep`` (fills, ledger, and the rankings PostgreSQL rebuilt, whose
``rankings_assetprice`` gives the hourly prices). Needs the ``duckdb`` package in the
interpreter that runs it (it is not a dependency of the project: ``pip install duckdb`` in a
scratch venv with ``psycopg``).

It times what the rebuild's steps "delta", "snapshots compute" and "snapshots write" do in
PostgreSQL, done instead as: the fills' legs and the cash flows out of PostgreSQL with ``COPY``,
the per (user, hour) holdings, marks and unit-value logs in DuckDB (one column per asset, as
the PostgreSQL rebuild does), and the snapshots back into PostgreSQL with ``COPY`` (a scratch
table shaped like ``rankings_snapshot``, then its unique index), and compares every
snapshot's equity and log value with PostgreSQL's.

DuckDB's DECIMAL has at most 38 digits: an amount (18 places) times a price (18 places) needs
36 places and overflows, so the marks here are in double precision. The comparison therefore
counts rows that differ by more than a rounding tolerance, and the figures are a speed
measurement only: exact equality with the refresh (the hypothesis test) is out of reach this way.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb  # type: ignore[import-not-found, unused-ignore]
import psycopg

LEGS = """
COPY (
    SELECT f.user_id, p.base_id, p.quote_id, f.fee_asset_id, (f.side = 'buy')::int AS buy,
           f.quantity, f.quote_quantity, f.fee,
           extract(epoch FROM date_trunc('hour', f.created_at))::bigint AS hour
    FROM orders_fill f JOIN markets_tradingpair p ON p.id = f.pair_id
) TO STDOUT (FORMAT csv)
"""
FLOWS = """
COPY (
    SELECT a.user_id, e.asset_id, e.amount,
           extract(epoch FROM date_trunc('hour', j.created_at))::bigint AS hour
    FROM wallets_ledgerentry e
    JOIN wallets_account a ON a.id = e.account_id
    JOIN wallets_journaltransaction j ON j.id = e.journal_id
    WHERE a.kind = 'user' AND j.kind IN ('deposit', 'withdrawal', 'adjustment', 'transfer')
) TO STDOUT (FORMAT csv)
"""
PRICES = """
COPY (
    SELECT asset_id, extract(epoch FROM hour)::bigint, price FROM rankings_assetprice
) TO STDOUT (FORMAT csv)
"""


def export(conn: psycopg.Connection, statement: str, path: Path) -> None:
    with conn.cursor() as cursor, cursor.copy(statement) as copy, path.open("wb") as out:
        for chunk in copy:
            out.write(chunk)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("DATABASE_URL: the bench database left by bench/rankings.py --keep")
    work = Path(tempfile.mkdtemp(prefix="rankings-duckdb-"))
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        ref = conn.execute("SELECT id FROM wallets_asset WHERE symbol = 'KRW'").fetchone()
        assert ref is not None
        ref_id = int(ref[0])
        started = time.perf_counter()
        export(conn, LEGS, work / "legs.csv")
        export(conn, FLOWS, work / "flows.csv")
        export(conn, PRICES, work / "prices.csv")
        timings["export from PostgreSQL (COPY)"] = time.perf_counter() - started

        started = time.perf_counter()
        db = duckdb.connect()
        db.execute(f"SET threads = {os.cpu_count() or 1}")
        db.execute(
            f"""
CREATE TABLE legs AS
SELECT user_id, base_id AS asset_id, hour, CASE WHEN buy = 1 THEN quantity ELSE -quantity END AS d,
       0.0 AS f, 0.0 AS v, 0 AS trades
FROM read_csv('{work / "legs.csv"}', header = false, columns = {{'user_id': 'BIGINT', 'base_id': 'BIGINT', 'quote_id': 'BIGINT', 'fee_asset_id': 'BIGINT', 'buy': 'INT', 'quantity': 'DOUBLE', 'quote_quantity': 'DOUBLE', 'fee': 'DOUBLE', 'hour': 'BIGINT'}})
UNION ALL
SELECT user_id, quote_id, hour, CASE WHEN buy = 1 THEN -quote_quantity ELSE quote_quantity END,
       0.0, quote_quantity, 1
FROM read_csv('{work / "legs.csv"}', header = false, columns = {{'user_id': 'BIGINT', 'base_id': 'BIGINT', 'quote_id': 'BIGINT', 'fee_asset_id': 'BIGINT', 'buy': 'INT', 'quantity': 'DOUBLE', 'quote_quantity': 'DOUBLE', 'fee': 'DOUBLE', 'hour': 'BIGINT'}})
UNION ALL
SELECT user_id, fee_asset_id, hour, -fee, 0.0, 0.0, 0
FROM read_csv('{work / "legs.csv"}', header = false, columns = {{'user_id': 'BIGINT', 'base_id': 'BIGINT', 'quote_id': 'BIGINT', 'fee_asset_id': 'BIGINT', 'buy': 'INT', 'quantity': 'DOUBLE', 'quote_quantity': 'DOUBLE', 'fee': 'DOUBLE', 'hour': 'BIGINT'}})
UNION ALL
SELECT user_id, asset_id, hour, amount, amount, 0.0, 0
FROM read_csv('{work / "flows.csv"}', header = false, columns = {{'user_id': 'BIGINT', 'asset_id': 'BIGINT', 'amount': 'DOUBLE', 'hour': 'BIGINT'}})
"""
        )
        db.execute(
            f"""
CREATE TABLE prices AS SELECT * FROM read_csv('{work / "prices.csv"}', header = false,
    columns = {{'asset_id': 'BIGINT', 'hour': 'BIGINT', 'price': 'DOUBLE'}})
"""
        )
        assets = [
            int(a)
            for (a,) in db.execute("SELECT DISTINCT asset_id FROM legs ORDER BY 1").fetchall()
        ]
        timings["DuckDB: read the CSV files"] = time.perf_counter() - started

        started = time.perf_counter()

        def each(template: str, sep: str = ", ") -> str:
            return sep.join(template.format(k=k) for k in assets)

        def price(k: int) -> str:
            return "1.0" if k == ref_id else f"COALESCE(p_{k}, 0)"

        px = ", ".join(
            f"max(price) FILTER (WHERE asset_id = {k}) AS p_{k}" for k in assets if k != ref_id
        )
        keep = "(h_{k} <> 0 OR COALESCE(f_{k}, 0) <> 0 OR COALESCE(v_{k}, 0) <> 0)"
        db.execute(
            f"""
CREATE TABLE snap AS
WITH pivoted AS (
    SELECT user_id, hour, sum(trades)::int AS trades,
           {each("sum(d) FILTER (WHERE asset_id = {k}) AS d_{k}")},
           {each("sum(f) FILTER (WHERE asset_id = {k}) AS f_{k}")},
           {each("sum(v) FILTER (WHERE asset_id = {k}) AS v_{k}")}
    FROM legs GROUP BY user_id, hour
), running AS (
    SELECT p.*, {each("COALESCE(sum(d_{k}) OVER w, 0) AS h_{k}")}
    FROM pivoted p WINDOW w AS (PARTITION BY user_id ORDER BY hour)
), px AS (
    SELECT hour, {px} FROM prices GROUP BY hour
), marked AS (
    SELECT r.*, x.*,
           {" + ".join(f"h_{k} * {price(k)}" for k in assets)} AS equity,
           {" + ".join(f"COALESCE(f_{k}, 0) * {price(k)}" for k in assets)} AS flow,
           {" + ".join(f"COALESCE(v_{k}, 0) * {price(k)}" for k in assets)} AS volume
    FROM running r LEFT JOIN px x ON x.hour = r.hour
), steps AS (
    SELECT m.*, lag(equity) OVER (PARTITION BY user_id ORDER BY hour) AS prev_equity FROM marked m
)
SELECT user_id, hour, equity, flow, trades, volume,
       sum(CASE WHEN prev_equity IS NULL OR prev_equity <= 0 THEN 0
                ELSE round(ln(greatest((equity - flow) / prev_equity, 1e-12)), 12) END)
           OVER (PARTITION BY user_id ORDER BY hour) AS log_value,
       '{{' || array_to_string(list_filter([{each("CASE WHEN " + keep + " THEN {k} END")}], lambda x: x IS NOT NULL), ',') || '}}' AS asset_ids,
       '{{' || array_to_string(list_filter([{each("CASE WHEN " + keep + " THEN h_{k} END")}], lambda x: x IS NOT NULL), ',') || '}}' AS held
FROM steps
"""
        )
        rows = db.execute("SELECT count(*) FROM snap").fetchone()
        timings["DuckDB: snapshots computed"] = time.perf_counter() - started

        started = time.perf_counter()
        db.execute(
            f"COPY (SELECT user_id, to_timestamp(hour), equity, flow, trades, volume, log_value, 0, asset_ids, held FROM snap) TO '{work / 'snap.csv'}' (HEADER false)"
        )
        timings["DuckDB: snapshots to CSV"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS rk_duck_snapshot")
        conn.execute(
            "CREATE TABLE rk_duck_snapshot AS SELECT user_id, hour, equity, flow, trades, volume,"
            " log_value, units, asset_ids, held FROM rankings_snapshot WITH NO DATA"
        )
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY rk_duck_snapshot FROM STDIN (FORMAT csv)") as copy,
            (work / "snap.csv").open("rb") as source,
        ):
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.execute(
            "CREATE UNIQUE INDEX rk_duck_snapshot_unique ON rk_duck_snapshot (user_id, hour)"
        )
        conn.execute("CREATE INDEX rk_duck_snapshot_hour ON rk_duck_snapshot (hour)")
        timings["into PostgreSQL (COPY, then the two indexes)"] = time.perf_counter() - started

        differ = conn.execute(
            "SELECT count(*) FILTER (WHERE p.user_id IS NULL OR d.user_id IS NULL),"
            " count(*) FILTER (WHERE abs(p.equity - d.equity) > 1e-6 * greatest(abs(p.equity), 1)"
            "   OR abs(p.log_value - d.log_value) > 1e-9),"
            " count(*) FILTER (WHERE p.equity <> d.equity OR p.log_value <> d.log_value)"
            " FROM rankings_snapshot p FULL JOIN rk_duck_snapshot d USING (user_id, hour)"
        ).fetchone()
        conn.execute("DROP TABLE rk_duck_snapshot")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    total = sum(timings.values())
    for label, seconds in timings.items():
        print(f"| {label} | {seconds:.1f} s |")
    print(f"| total | {total:.1f} s |")
    assert rows is not None
    assert differ is not None
    print(
        f"{rows[0]:,} snapshots; missing on either side: {differ[0]}; "
        f"beyond tolerance: {differ[1]}; not exactly equal: {differ[2]:,}"
    )
    print(f"RESULT rankings_duckdb_snapshots_s {total:.2f} s")


if __name__ == "__main__":
    main()
