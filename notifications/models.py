"""Per-user notifications (order fills, triggered stops, withdrawal decisions)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    """One message for one user. ``key`` names the event it reports (``order:42:filled``), so
    reporting the same event twice creates one row."""

    class Kind(models.TextChoices):
        ORDER_FILLED = "order_filled", "Order filled"
        ORDER_PARTIALLY_FILLED = "order_partially_filled", "Order partially filled"
        ORDER_CANCELLED = "order_cancelled", "Order cancelled by the exchange"
        ORDER_REJECTED = "order_rejected", "Order rejected"
        STOP_TRIGGERED = "stop_triggered", "Stop order triggered"
        WITHDRAWAL_COMPLETED = "withdrawal_completed", "Withdrawal completed"
        WITHDRAWAL_REJECTED = "withdrawal_rejected", "Withdrawal rejected"
        COPY_STOPPED = "copy_stopped", "Copy trading stopped"
        COPY_PROFIT_SHARE = "copy_profit_share", "Copy trading profit share"

    # Indexed by notifications_user_id and the (user, key) constraint.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notifications_user_key"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="notifications_user_id"),
            models.Index(
                fields=["user", "-id"],
                condition=models.Q(read_at__isnull=True),
                name="notifications_user_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
