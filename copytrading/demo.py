"""The copy-trading demo of ``make run``: the demo trend trader (``bot_trend_1``, a labelled bot
that trades with the market's taker flow) leads, and three demo followers copy it, each its own
way, so the copy pages, the leader's profile and the mirroring have something to show."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from copytrading.models import Leader, Subscription
from copytrading.services import CopyTerms, leader_start, subscription_create
from orders.simulation import bot_ensure, bot_topup

DEMO_LEADER = "bot_trend_1"
DEMO_FOLLOWERS = {
    "bot_follower_1": (Decimal(1_000_000), CopyTerms()),
    "bot_follower_2": (
        Decimal(500_000),
        CopyTerms(mode=Subscription.Mode.FIXED_AMOUNT, fixed_amount=Decimal(20_000)),
    ),
    "bot_follower_3": (Decimal(2_000_000), CopyTerms(stop_loss=Decimal("0.2"))),
}


@transaction.atomic
def copy_demo_ensure() -> tuple[Leader, int]:
    """Idempotent: the demo leader leads and each demo follower has a live copy of it. Returns
    the leader and the number of copies created now."""
    leader_user = bot_ensure(username=DEMO_LEADER)
    leader = Leader.objects.filter(user=leader_user, status=Leader.Status.ACTIVE).first()
    if leader is None:
        leader = leader_start(user=leader_user, profit_share_rate=Decimal("0.10"))
    created = 0
    for username, (amount, terms) in DEMO_FOLLOWERS.items():
        follower = bot_ensure(username=username)
        live = Subscription.objects.filter(follower=follower, leader=leader).exclude(
            status=Subscription.Status.STOPPED
        )
        if live.exists():
            continue
        bot_topup(user=follower, funds={"KRW": amount * 2})  # at least the amount available
        subscription_create(
            follower=follower, leader_handle=leader_user.handle, amount=amount, terms=terms
        )
        created += 1
    return leader, created
