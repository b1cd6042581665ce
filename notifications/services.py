"""Writes of notifications: stored once per reported event, pushed to their owner.

Two jobs, one name each: ``notifications_store`` writes rows inside the caller's transaction
and pushes nothing (settlement stores them with the fills they report and pushes them with the
batch, after commit); ``notifications_send`` stores in its own transaction and pushes at once
(for events that already committed, e.g. a withdrawal decision). The wording of each
notification is the reporting domain's (``settlement.notifications``, ``wallets.notifications``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.errors import NotificationNotFound
from notifications.models import Notification
from notifications.payloads import notification_groups, notification_messages
from notifications.sql import NOTIFICATIONS_INSERT
from tradehive.money import epoch_ms
from tradehive.push import Runner, groups_listened, run_sync, send_many
from tradehive.sql import prepared_cursor


@dataclass(frozen=True)
class NotificationInput:
    user_id: int
    kind: str
    key: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredNotification:
    """A notification row ``notifications_store`` wrote, with what a push shows of it."""

    pk: int
    user_id: int
    kind: str
    key: str
    title: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None


def notifications_store(*, items: Sequence[NotificationInput]) -> list[StoredNotification]:
    """Insert the notifications of ``items`` not reported before (once per ``(user_id, key)``),
    inside the caller's transaction, without pushing. One ``INSERT ... ON CONFLICT DO NOTHING``
    fed by column arrays (no read of existing keys, no model instances): settlement's hot path.
    Returns the rows created, in the order of ``items``."""
    if not items:
        return []
    wanted = list({(i.user_id, i.key): i for i in items}.values())
    now = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(
            NOTIFICATIONS_INSERT,
            [
                now,
                [i.user_id for i in wanted],
                [i.kind for i in wanted],
                [i.key for i in wanted],
                [i.title for i in wanted],
                [json.dumps(i.data) for i in wanted],
            ],
        )
        created = {(user_id, key): pk for pk, user_id, key in cursor.fetchall()}
    return [
        StoredNotification(
            pk=created[(i.user_id, i.key)],
            user_id=i.user_id,
            kind=i.kind,
            key=i.key,
            title=i.title,
            data=i.data,
            created_at=now,
        )
        for i in wanted
        if (i.user_id, i.key) in created
    ]


def notifications_publish(
    *, notifications: Sequence[StoredNotification], run: Runner = run_sync
) -> None:
    """Push stored notifications to their owners' ``notifications`` channel (those listening)."""
    if not notifications:
        return
    listened = run(groups_listened(notification_groups(notifications)))
    send_many(notification_messages(notifications, epoch_ms(timezone.now()), listened), run=run)


def notifications_send(*, items: Sequence[NotificationInput]) -> list[StoredNotification]:
    """Store ``items`` (in a transaction of their own) and push each new one live on its owner's
    ``notifications`` channel. Idempotent per ``(user_id, key)``: an event reported again
    creates and pushes nothing. Call it after the reported change committed (e.g. from
    ``transaction.on_commit``). Returns the rows created."""
    if not items:
        return []
    with transaction.atomic():
        created = notifications_store(items=items)
    notifications_publish(notifications=created)
    return created


def notification_send(
    *, user_id: int, kind: str, key: str, title: str, data: dict[str, Any] | None = None
) -> StoredNotification | None:
    """One notification (see ``notifications_send``); None when ``key`` was reported before."""
    created = notifications_send(
        items=[NotificationInput(user_id=user_id, kind=kind, key=key, title=title, data=data or {})]
    )
    return created[0] if created else None


def notification_mark_read(*, user_id: int, notification_id: int) -> Notification:
    """Mark one of ``user_id``'s notifications read (idempotent: the first read time stays).
    Raises ``NotificationNotFound`` for another user's or a missing notification."""
    notification = Notification.objects.filter(user_id=user_id, pk=notification_id).first()
    if notification is None:
        raise NotificationNotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read; returns how many changed."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
