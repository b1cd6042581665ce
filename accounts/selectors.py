"""Account reads."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet

from accounts import sql
from accounts.models import AuditEvent, User
from tradehive.sql import prepared_cursor


def audit_events_recent_for_user(*, user: User, limit: int = 20) -> QuerySet[AuditEvent]:
    """The user's latest security events, newest first (shown on the account page)."""
    return AuditEvent.objects.filter(user=user).order_by("-id")[:limit]


def user_get_by_id(*, user_id: int) -> User | None:
    """The user with this id (from the primary: authentication must see a password change or
    a deactivation at once), or None. Raw and prepared: every request carrying a JWT reads it,
    and the ORM's ``get`` took three times as long as the statement (0.8 against 0.25 ms)."""
    statement, names = sql.user_by_id_sql()
    with prepared_cursor(DEFAULT_DB_ALIAS) as cursor:
        cursor.execute(statement, [user_id])
        row = cursor.fetchone()
    return None if row is None else User.from_db(DEFAULT_DB_ALIAS, list(names), row)
