"""Writes of the realtime app: notifications (created after the event they report committed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from realtime.errors import NotificationNotFound
from realtime.models import Notification


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


def notifications_create(*, items: Sequence[NotificationInput]) -> list[Notification]:
    """Persist ``items`` and push each new one live on its owner's ``notifications`` channel.

    Idempotent per ``(user_id, key)``: an event reported again creates and pushes nothing.
    Call it after the reported change committed (e.g. from ``transaction.on_commit``).
    Returns the rows created."""
    from matching.publish import publish_notifications

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
