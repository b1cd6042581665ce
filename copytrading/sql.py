"""The raw SQL of copy trading (table names from the models)."""

from __future__ import annotations

from functools import cache

from copytrading.models import CopyChunk, CopyIntent, CopyOrder, Leader, Subscription


@cache
def leaders_among_sql() -> str:
    """Active leaders among the users ``%s`` (an array): (user id, leader id, active
    subscriptions: what sizes an intent's chunks)."""
    return (
        f"SELECT l.user_id, l.id, (SELECT count(*) FROM {Subscription._meta.db_table} s"
        " WHERE s.leader_id = l.id AND s.status = 'active')"
        f" FROM {Leader._meta.db_table} l"
        " WHERE l.status = 'active' AND l.user_id = ANY(%s)"
    )


@cache
def followers_count_sql() -> str:
    """Live followers (active, paused or closing subscriptions) per leader, for the leaders'
    users ``%s`` (an array): (user id, count), leaders without any left out."""
    return (
        f"SELECT l.user_id, count(*) FROM {Leader._meta.db_table} l"
        f" JOIN {Subscription._meta.db_table} s ON s.leader_id = l.id"
        " WHERE l.user_id = ANY(%s::bigint[]) AND s.status = ANY(%s::text[])"
        " GROUP BY l.user_id"
    )


@cache
def intents_insert_sql() -> str:
    """One intent per leader fill, from parallel arrays; a fill already recorded is left as it
    is (``leader_fill_id`` is unique). Returns the new intents' ids and chunk counts."""
    return (
        f"INSERT INTO {CopyIntent._meta.db_table}"
        " (leader_fill_id, leader_id, leader_order_id, pair_id, side, price, quantity, status,"
        " chunks, chunks_done, created_at)"
        " SELECT f, l, o, p, s, pr, q, 'pending', c, 0, now()"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[],"
        " %s::numeric[], %s::numeric[], %s::smallint[]) AS t(f, l, o, p, s, pr, q, c)"
        " ON CONFLICT (leader_fill_id) DO NOTHING RETURNING id, chunks"
    )


@cache
def chunk_claim_sql() -> str:
    """Claim one part of an intent (intent id, part number) in the caller's transaction: the
    claim's id, or no row when the part is done (a transaction holding the same claim makes
    this wait for its end: its commit means done, its rollback leaves the part to us)."""
    return (
        f"INSERT INTO {CopyChunk._meta.db_table} (intent_id, number, done_at)"
        " VALUES (%s, %s, now()) ON CONFLICT (intent_id, number) DO NOTHING RETURNING id"
    )


@cache
def chunk_done_sql() -> str:
    """Count one more part of intent ``%s`` done; the intent is done with its last part, at
    ``%s``. The row's lock orders concurrent parts: the second re-reads the first's count."""
    return (
        f"UPDATE {CopyIntent._meta.db_table}"
        " SET chunks_done = chunks_done + 1,"
        " status = CASE WHEN chunks_done + 1 >= chunks THEN 'done' ELSE status END,"
        " done_at = CASE WHEN chunks_done + 1 >= chunks THEN %s ELSE done_at END"
        " WHERE id = %s RETURNING status"
    )


@cache
def copies_insert_sql() -> str:
    """What each subscription did with one intent, from parallel arrays (``intent_mirror``):
    intent id, then subscription ids, statuses, reasons, details, order ids (NULL if skipped)."""
    return (
        f"INSERT INTO {CopyOrder._meta.db_table}"
        " (intent_id, subscription_id, status, reason, detail, order_id, created_at)"
        " SELECT %s::bigint, s, st, r, d, o, now()"
        " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[])"
        " AS t(s, st, r, d, o)"
    )
