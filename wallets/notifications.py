"""What wallets tell a user: the wording of withdrawal notifications."""

from __future__ import annotations

from notifications.models import Notification
from notifications.services import StoredNotification, notification_send
from tradehive.money import format_amount, format_decimal
from wallets.models import Withdrawal


def withdrawal_notify(*, withdrawal: Withdrawal) -> StoredNotification | None:
    """Tell a withdrawal's owner it was completed or rejected (after the decision committed)."""
    status = withdrawal.status
    if status not in (Withdrawal.Status.COMPLETED, Withdrawal.Status.REJECTED):
        return None
    asset = withdrawal.asset
    amount = format_amount(withdrawal.amount, asset.decimals)
    data = {
        "withdrawal_id": withdrawal.pk,
        "asset": asset.symbol,
        "amount": format_decimal(withdrawal.amount, asset.decimals),
        "status": status,
    }
    if status == Withdrawal.Status.COMPLETED:
        title = f"Withdrawal of {amount} {asset.symbol} completed: transaction {withdrawal.txid}"
        return notification_send(
            user_id=withdrawal.user_id,
            kind=Notification.Kind.WITHDRAWAL_COMPLETED,
            key=f"withdrawal:{withdrawal.pk}:completed",
            data={**data, "txid": withdrawal.txid},
            title=title[:200],
        )
    title = f"Withdrawal of {amount} {asset.symbol} rejected: {withdrawal.reason}"
    return notification_send(
        user_id=withdrawal.user_id,
        kind=Notification.Kind.WITHDRAWAL_REJECTED,
        key=f"withdrawal:{withdrawal.pk}:rejected",
        data={**data, "reason": withdrawal.reason},
        title=title[:200],
    )
