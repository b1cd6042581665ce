"""Copy-trading reads: leaders, a follower's subscriptions and their results, copies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import User
from copytrading import sql
from copytrading.models import CopyOrder, Leader, ProfitShare, Subscription
from copytrading.valuation import holdings_of, prices_in, value_of
from orders.models import Order
from tradehive.db_router import read_alias
from tradehive.sql import prepared_cursor

LIVE = (Subscription.Status.ACTIVE, Subscription.Status.PAUSED, Subscription.Status.CLOSING)
_ZERO = Decimal(0)
_BIGINT_MAX = 2**63 - 1


def followers_count_many(user_ids: Sequence[int]) -> dict[int, int]:
    """Live followers per leader user id (the rankings' followers provider). Raw and prepared:
    every leaderboard page and profile asks, and the ORM's query took four times as long as the
    statement (2.5 against 0.5 ms for a page's 51 traders)."""
    with prepared_cursor(read_alias(Subscription)) as cursor:
        cursor.execute(sql.followers_count_sql(), [list(user_ids), list(LIVE)])
        return dict(cursor.fetchall())


def _public() -> Q:
    return Q(user__rankings_opt_in=True, user__rankings_excluded=False, user__is_active=True)


def leader_list() -> QuerySet[Leader]:
    """Active leaders who show in the rankings, with ``followers``, most followed first."""
    return (
        Leader.objects.filter(_public(), status=Leader.Status.ACTIVE)
        .select_related("user")
        .annotate(followers=Count("subscriptions", filter=Q(subscriptions__status__in=LIVE)))
        .order_by("-followers", "id")
    )


def leader_get(*, handle: str) -> Leader | None:
    """The active, public leader with this handle (any case), or None."""
    if not isinstance(handle, str) or not 3 <= len(handle) <= 30:
        return None
    return leader_list().filter(user__handle__iexact=handle).first()


def leader_of(*, user: User) -> Leader | None:
    return Leader.objects.filter(user=user).select_related("user").first()


@dataclass(frozen=True)
class LeaderStats:
    followers: int
    assets_under_copy: Decimal
    profit_share_earned: Decimal


def leader_stats(*, leader: Leader) -> LeaderStats:
    """Followers now, what their allocations are worth now, and all profit share earned."""
    live = list(Subscription.objects.filter(leader=leader, status__in=LIVE).select_related("asset"))
    held = holdings_of([s.account_user_id for s in live])
    prices: dict[int, dict[int, Decimal]] = {}
    total = _ZERO
    for sub in live:
        if sub.asset_id not in prices:
            prices[sub.asset_id] = prices_in(sub.asset)
        total += value_of(held.get(sub.account_user_id, {}), prices[sub.asset_id])
    earned = ProfitShare.objects.filter(subscription__leader=leader).aggregate(s=Sum("amount"))
    return LeaderStats(
        followers=len(live), assets_under_copy=total, profit_share_earned=earned["s"] or _ZERO
    )


def subscription_list_for_user(*, user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(follower=user).select_related(
        "leader", "leader__user", "asset"
    )


def subscription_get_for_user(*, user: User, subscription_id: int) -> Subscription | None:
    """One of the user's subscriptions; None for another's, a missing one, or an id no row can
    have (beyond a bigint)."""
    if not 0 < subscription_id <= _BIGINT_MAX:
        return None
    return subscription_list_for_user(user=user).filter(pk=subscription_id).first()


@dataclass(frozen=True)
class Results:
    """A subscription's results in its asset: ``pnl`` = value + withdrawn - allocated (after
    fees and profit share, which have left the allocation), ``return_pct`` = pnl / allocated."""

    value: Decimal
    pnl: Decimal
    return_pct: Decimal
    fees: Decimal
    profit_share_paid: Decimal
    copies_placed: int
    copies_skipped: int


def subscription_results(subscriptions: Sequence[Subscription]) -> dict[int, Results]:
    """Results of each subscription (by id), in a handful of queries for any number."""
    if not subscriptions:
        return {}
    held = holdings_of([s.account_user_id for s in subscriptions])
    fees = dict(
        Order.objects.filter(user_id__in=[s.account_user_id for s in subscriptions])
        .values("user_id")
        .annotate(f=Sum("fee_paid"))
        .values_list("user_id", "f")
    )
    counts: dict[int, dict[str, int]] = {}
    for row in (
        CopyOrder.objects.filter(subscription__in=[s.pk for s in subscriptions])
        .values("subscription_id", "status")
        .annotate(n=Count("id"))
    ):
        counts.setdefault(row["subscription_id"], {})[row["status"]] = row["n"]
    prices: dict[int, dict[int, Decimal]] = {}
    results = {}
    for sub in subscriptions:
        if sub.asset_id not in prices:
            prices[sub.asset_id] = prices_in(sub.asset)
        value = value_of(held.get(sub.account_user_id, {}), prices[sub.asset_id])
        pnl = value + sub.withdrawn - sub.allocated
        mine = counts.get(sub.pk, {})
        results[sub.pk] = Results(
            value=value,
            pnl=pnl,
            return_pct=pnl / sub.allocated * 100 if sub.allocated else _ZERO,
            fees=fees.get(sub.account_user_id) or _ZERO,
            profit_share_paid=sub.profit_share_paid,
            copies_placed=mine.get(CopyOrder.Status.PLACED, 0),
            copies_skipped=mine.get(CopyOrder.Status.SKIPPED, 0),
        )
    return results


def copy_list(*, subscription: Subscription) -> QuerySet[CopyOrder]:
    """The subscription's copies, newest first: placed (with the order) or skipped (why)."""
    return (
        CopyOrder.objects.filter(subscription=subscription)
        .select_related("intent", "intent__pair", "order", "order__pair")
        .order_by("-id")
    )


def profit_share_list(*, subscription: Subscription) -> QuerySet[ProfitShare]:
    return ProfitShare.objects.filter(subscription=subscription).order_by("-id")
