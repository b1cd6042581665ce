"""Writes of the realtime app: notifications (created after the event they report committed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from realtime.errors import NotificationNotFound
from realtime.models import Notification
from tradehive.sql_arrays import array_cursor


@dataclass(frozen=True)
class NotificationInput:
    user_id: int
    kind: str
    key: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)


def _unreported(items: Sequence[NotificationInput]) -> list[Notification]:
    """Rows for the items whose ``(user_id, key)`` was not reported before."""
    wanted = {(i.user_id, i.key): i for i in items}
    existing = set(Notification.objects.filter(
        user_id__in={i.user_id for i in items}, key__in={i.key for i in items},
    ).values_list("user_id", "key"))
    return [Notification(user_id=i.user_id, kind=i.kind, key=i.key, title=i.title, data=i.data)
            for k, i in wanted.items() if k not in existing]


def notifications_store(*, items: Sequence[NotificationInput]) -> list[Notification]:
    """Insert the notifications of ``items`` not reported before, inside the caller's
    transaction, without pushing them (settlement stores them with the fills they report, so
    they exist exactly once, and pushes them after commit). Returns the rows created."""
    rows = _unreported(items) if items else []
    return Notification.objects.bulk_create(rows) if rows else []


@dataclass(frozen=True, slots=True)
class StoredNotification:
    """A notification row ``notifications_append`` wrote, with what a push shows of it."""

    pk: int
    user_id: int
    kind: str
    key: str
    title: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None


def notifications_append(*, items: Sequence[NotificationInput]) -> list[StoredNotification]:
    """``notifications_store`` for settlement's hot path: the same rows, once per
    ``(user_id, key)``, inside the caller's transaction, without pushing. On PostgreSQL one
    ``INSERT ... ON CONFLICT DO NOTHING`` fed by column arrays (no read of existing keys, no
    model instances); an event reported before, even by a concurrent transaction, is skipped.
    Returns the rows created, in the order of ``items``."""
    if not items:
        return []
    wanted = list({(i.user_id, i.key): i for i in items}.values())
    now = timezone.now()
    with array_cursor() as cursor:
        cursor.execute(
            "INSERT INTO realtime_notification (user_id, kind, key, title, data, created_at)"
            " SELECT user_id, kind, key, title, data, %b::timestamptz FROM unnest(%b::bigint[],"
            " %b::varchar[], %b::varchar[], %b::varchar[], %b::jsonb[]) WITH ORDINALITY"
            " AS t(user_id, kind, key, title, data, n) ORDER BY n"
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING id, user_id, key",
            [now, [i.user_id for i in wanted], [i.kind for i in wanted],
             [i.key for i in wanted], [i.title for i in wanted],
             [json.dumps(i.data) for i in wanted]],
        )
        created = {(user_id, key): pk for pk, user_id, key in cursor.fetchall()}
    return [StoredNotification(pk=created[(i.user_id, i.key)], user_id=i.user_id, kind=i.kind,
                               key=i.key, title=i.title, data=i.data, created_at=now)
            for i in wanted if (i.user_id, i.key) in created]


def notifications_create(*, items: Sequence[NotificationInput]) -> list[Notification]:
    """Persist ``items`` and push each new one live on its owner's ``notifications`` channel.

    Idempotent per ``(user_id, key)``: an event reported again creates and pushes nothing.
    Call it after the reported change committed (e.g. from ``transaction.on_commit``).
    Returns the rows created."""
    from settlement.publish import publish_notifications

    if not items:
        return []
    try:
        with transaction.atomic():
            created = notifications_store(items=items)
    except IntegrityError:
        # Another process reported one of these events at the same moment: go one by one.
        created = []
        for row in _unreported(items):
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:
                continue
            created.append(row)
    publish_notifications(notifications=created)
    return created


def notification_create(*, user_id: int, kind: str, key: str, title: str,
                        data: dict[str, Any] | None = None) -> Notification | None:
    """One notification (see ``notifications_create``); None when ``key`` was reported before."""
    created = notifications_create(items=[NotificationInput(
        user_id=user_id, kind=kind, key=key, title=title, data=data or {})])
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
        read_at=timezone.now())


def withdrawal_notify(*, withdrawal: Any) -> Notification | None:
    """Tell a withdrawal's owner it was completed or rejected (after the decision committed)."""
    from wallets.models import Withdrawal

    status = withdrawal.status
    if status not in (Withdrawal.Status.COMPLETED, Withdrawal.Status.REJECTED):
        return None
    asset = withdrawal.asset
    amount = f"{withdrawal.amount:f}"
    data = {"withdrawal_id": withdrawal.pk, "asset": asset.symbol, "amount": amount,
            "status": status}
    if status == Withdrawal.Status.COMPLETED:
        return notification_create(
            user_id=withdrawal.user_id, kind=Notification.Kind.WITHDRAWAL_COMPLETED,
            key=f"withdrawal:{withdrawal.pk}:completed", data=data,
            title=f"Withdrawal of {amount} {asset.symbol} completed")
    return notification_create(
        user_id=withdrawal.user_id, kind=Notification.Kind.WITHDRAWAL_REJECTED,
        key=f"withdrawal:{withdrawal.pk}:rejected", data={**data, "reason": withdrawal.reason},
        title=f"Withdrawal of {amount} {asset.symbol} rejected")
