"""Account reads."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AuditEvent, User


def audit_events_recent_for_user(*, user: User, limit: int = 20) -> QuerySet[AuditEvent]:
    """The user's latest security events, newest first (shown on the account page)."""
    return AuditEvent.objects.filter(user=user).order_by("-id")[:limit]
