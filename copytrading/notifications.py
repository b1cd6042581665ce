"""What copy trading tells users: the wording of its notifications."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from copytrading.models import Leader, ProfitShare, Subscription
from notifications.models import Notification
from notifications.services import NotificationInput
from tradehive.money import format_decimal

_WHY = {
    Subscription.StopReason.FOLLOWER: "you stopped it",
    Subscription.StopReason.LEADER_STOPPED: "the trader stopped leading",
    Subscription.StopReason.STOP_LOSS: "its stop-loss was reached",
    Subscription.StopReason.ADMIN: "an administrator stopped it",
}


def leader_stopped_items(
    *, leader: Leader, subscription_ids: Sequence[int]
) -> list[NotificationInput]:
    """Each follower of a leader who stopped leading (their copies stop next)."""
    handle = leader.user.handle
    followers = dict(
        Subscription.objects.filter(pk__in=subscription_ids).values_list("id", "follower_id")
    )
    return [
        NotificationInput(
            user_id=followers[pk],
            kind=Notification.Kind.COPY_STOPPED,
            key=f"copy:{pk}:leader_stopped",
            title=f"{handle} stopped leading: your copy is being closed.",
            data={"subscription_id": pk, "leader": handle, "reason": "leader_stopped"},
        )
        for pk in subscription_ids
    ]


def copy_stopped_items(*, subscription: Subscription) -> list[NotificationInput]:
    sub = subscription
    handle = sub.leader.user.handle
    why = _WHY.get(sub.stop_reason, "it was stopped")  # type: ignore[call-overload]
    return [
        NotificationInput(
            user_id=sub.follower_id,
            kind=Notification.Kind.COPY_STOPPED,
            key=f"copy:{sub.pk}:stopped",
            title=f"Your copy of {handle} stopped ({why}); its funds are back in your wallet.",
            data={"subscription_id": sub.pk, "leader": handle, "reason": sub.stop_reason},
        )
    ]


def profit_share_items(
    *, subscription: Subscription, share: ProfitShare
) -> list[NotificationInput]:
    sub = subscription
    asset = sub.asset
    shown = share.amount.quantize(Decimal(1).scaleb(-asset.decimals))
    amount = f"{shown:,f} {asset.symbol}"  # grouped as people read money: 1,234.5
    data = {
        "subscription_id": sub.pk,
        "profit_share_id": share.pk,
        "amount": format_decimal(share.amount, asset.decimals),
        "asset": asset.symbol,
    }
    return [
        NotificationInput(
            user_id=sub.follower_id,
            kind=Notification.Kind.COPY_PROFIT_SHARE,
            key=f"profit_share:{share.pk}:follower",
            title=(
                f"Profit share of {amount} paid to {sub.leader.user.handle} on your copy's new"
                " gains."
            ),
            data=data,
        ),
        NotificationInput(
            user_id=sub.leader.user_id,
            kind=Notification.Kind.COPY_PROFIT_SHARE,
            key=f"profit_share:{share.pk}:leader",
            title=f"You earned a profit share of {amount} from a follower.",
            data=data,
        ),
    ]
