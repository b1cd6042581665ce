"""Reads of notifications."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import Notification


def notification_list_for_user(*, user_id: int, unread: bool = False) -> QuerySet[Notification]:
    """``user_id``'s notifications (the pagination orders them newest first)."""
    notifications = Notification.objects.filter(user_id=user_id)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications
