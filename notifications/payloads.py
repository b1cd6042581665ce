"""What a notification looks like on the ``notifications`` websocket channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from notifications.models import Notification
from tradehive.money import iso_ms
from tradehive.push import Message, group_for, push_message

if TYPE_CHECKING:
    from notifications.services import StoredNotification

CHANNEL = "notifications"


def notification_payload(notification: Notification | StoredNotification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "data": notification.data,
        "read": notification.read_at is not None,
        "created_at": iso_ms(notification.created_at),
    }


def notification_groups(notifications: Sequence[StoredNotification]) -> list[str]:
    """The push groups of ``notifications`` (their owners' ``notifications`` channels)."""
    return [group_for(CHANNEL, user_id=n.user_id) for n in notifications]


def notification_messages(
    notifications: Sequence[StoredNotification], now_ms: int, listened: set[str]
) -> list[Message]:
    """Push messages of the ``notifications`` whose owner listens."""
    return [
        push_message(CHANNEL, notification_payload(n), now_ms, user_id=n.user_id)
        for n in notifications
        if group_for(CHANNEL, user_id=n.user_id) in listened
    ]
