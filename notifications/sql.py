"""The raw SQL of notifications (table names from the model)."""

from __future__ import annotations

from notifications.models import Notification

_TABLE = Notification._meta.db_table

# Rows of ``(user_id, kind, key, title, data)`` column arrays, in order, each event once per
# ``(user, key)``: an event reported before, even by a concurrent transaction, is skipped.
# Binds: created_at, user_ids, kinds, keys, titles, data (JSON texts).
NOTIFICATIONS_INSERT = (
    f"INSERT INTO {_TABLE} (user_id, kind, key, title, data, created_at)"
    " SELECT user_id, kind, key, title, data, %b::timestamptz FROM unnest(%b::bigint[],"
    " %b::varchar[], %b::varchar[], %b::varchar[], %b::jsonb[]) WITH ORDINALITY"
    " AS t(user_id, kind, key, title, data, n) ORDER BY n"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING id, user_id, key"
)
