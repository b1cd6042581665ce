"""The raw SQL of copy trading (table names from the models)."""

from __future__ import annotations

from functools import cache

from copytrading.models import CopyIntent, CopyOrder, Leader


@cache
def leaders_among_sql() -> str:
    """Active leaders among the users ``%s`` (an array): (user id, leader id)."""
    return (
        f"SELECT user_id, id FROM {Leader._meta.db_table}"
        " WHERE status = 'active' AND user_id = ANY(%s)"
    )


@cache
def intents_insert_sql() -> str:
    """One intent per leader fill, from parallel arrays; a fill already recorded is left as it
    is (``leader_fill_id`` is unique). Returns the new intents' ids."""
    return (
        f"INSERT INTO {CopyIntent._meta.db_table}"
        " (leader_fill_id, leader_id, leader_order_id, pair_id, side, price, quantity, status,"
        " created_at)"
        " SELECT f, l, o, p, s, pr, q, 'pending', now()"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[],"
        " %s::numeric[], %s::numeric[]) AS t(f, l, o, p, s, pr, q)"
        " ON CONFLICT (leader_fill_id) DO NOTHING RETURNING id"
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
