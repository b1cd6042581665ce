"""Copy-trading writes: leading, subscribing, moving an allocation's money, stopping, and the
profit share (docs/copytrading.md).

Money moves only through the ledger (``wallets.services``), in the transaction that changes the
subscription, after its row lock (``select_for_update``): the follower's spot account and the
allocation's sub-account are ordinary wallet accounts, so ``ledger_check`` covers them and a
concurrent top-up and withdrawal can never spend the same funds twice."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from copytrading import errors
from copytrading.models import Leader, ProfitShare, Subscription
from copytrading.notifications import (
    copy_stopped_items,
    leader_stopped_items,
    profit_share_items,
)
from copytrading.valuation import holdings_of, prices_in, value_of
from markets.models import TradingPair
from notifications.services import notifications_publish, notifications_store
from orders.cancel import order_cancel_all
from orders.models import OPEN_STATUSES, Order
from orders.services import order_place
from tradehive.errors import DomainError, InvalidInput
from tradehive.money import format_decimal
from wallets.models import Account, Asset, Balance, JournalTransaction
from wallets.selectors import asset_active_get
from wallets.services import wallet_account_get, wallet_amount_check, wallet_debit

_ZERO = Decimal(0)
LIVE = (Subscription.Status.ACTIVE, Subscription.Status.PAUSED, Subscription.Status.CLOSING)


# --- leaders -----------------------------------------------------------------------------------


def _is_public(user: User) -> bool:
    return user.rankings_opt_in and not user.rankings_excluded and user.is_active


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _rate_check(rate: Decimal) -> Decimal:
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate <= Decimal("0.3"):
        raise InvalidInput(fields={"profit_share_rate": ["Must be between 0 and 0.3."]})
    if _places(rate) > 4:
        raise InvalidInput(fields={"profit_share_rate": ["At most 4 decimal places."]})
    return rate


@transaction.atomic
def leader_start(
    *,
    user: User,
    profit_share_rate: Decimal = Decimal("0.10"),
    min_copy_amount: Decimal = _ZERO,
    max_followers: int = 1000,
) -> Leader:
    """Start leading (or change one's terms while leading). Only a trader public in the
    rankings may lead (``copy_not_public``); a sub-account never."""
    if not _is_public(user) or user.parent_id is not None:
        raise errors.NotPublic()
    _rate_check(profit_share_rate)
    asset = copy_asset()
    if min_copy_amount != 0:
        wallet_amount_check(asset=asset, amount=min_copy_amount, field="min_copy_amount")
    if not 1 <= max_followers <= settings.COPY_MAX_FOLLOWERS:
        raise InvalidInput(
            fields={"max_followers": [f"Must be 1 to {settings.COPY_MAX_FOLLOWERS}."]}
        )
    leader, created = Leader.objects.select_for_update().get_or_create(
        user=user,
        defaults={
            "profit_share_rate": profit_share_rate,
            "min_copy_amount": min_copy_amount,
            "max_followers": max_followers,
        },
    )
    if not created:
        if leader.status == Leader.Status.STOPPED:
            leader.status, leader.started_at, leader.stopped_at = (
                Leader.Status.ACTIVE,
                timezone.now(),
                None,
            )
        leader.profit_share_rate = profit_share_rate
        leader.min_copy_amount = min_copy_amount
        leader.max_followers = max_followers
        leader.save()
    return leader


def leader_stop(*, user: User) -> Leader:
    """Stop leading: every live subscription closes (its copies stop, what it holds is sold
    back to the allocation asset, the profit share is settled and the money returned) and its
    follower is told."""
    with transaction.atomic():
        leader = Leader.objects.select_for_update().filter(user=user).first()
        if leader is None or leader.status != Leader.Status.ACTIVE:
            raise errors.LeaderNotFound("You are not leading.")
        leader.status, leader.stopped_at = Leader.Status.STOPPED, timezone.now()
        leader.save(update_fields=["status", "stopped_at"])
        ids = list(
            leader.subscriptions.filter(
                status__in=(Subscription.Status.ACTIVE, Subscription.Status.PAUSED)
            ).values_list("id", flat=True)
        )
        stored = notifications_store(
            items=leader_stopped_items(leader=leader, subscription_ids=ids)
        )
        transaction.on_commit(lambda: notifications_publish(notifications=stored))
    for subscription_id in ids:
        subscription_close(
            subscription_id=subscription_id, reason=Subscription.StopReason.LEADER_STOPPED
        )
    return leader


# --- subscriptions -----------------------------------------------------------------------------


def copy_asset() -> Asset:
    """The asset allocations are made in (``COPY_ASSET``, the rankings' reference by default):
    copies follow the markets quoted in it."""
    return asset_active_get(symbol=settings.COPY_ASSET)


@dataclass(frozen=True)
class CopyTerms:
    """What a follower chooses (validated by ``_terms_check``)."""

    mode: str = Subscription.Mode.FIXED_RATIO
    fixed_amount: Decimal | None = None
    max_order_quote: Decimal | None = None
    markets: Sequence[str] = ()
    stop_loss: Decimal | None = None


def _terms_check(terms: CopyTerms, asset: Asset) -> CopyTerms:
    if terms.mode not in Subscription.Mode.values:
        raise InvalidInput(fields={"mode": ["Must be fixed_ratio or fixed_amount."]})
    if terms.mode == Subscription.Mode.FIXED_AMOUNT and terms.fixed_amount is None:
        raise InvalidInput(fields={"fixed_amount": ["Required in fixed_amount mode."]})
    for name in ("fixed_amount", "max_order_quote"):
        value = getattr(terms, name)
        if value is not None:
            wallet_amount_check(asset=asset, amount=value, field=name)
    if terms.stop_loss is not None:
        loss = terms.stop_loss
        if not loss.is_finite() or not Decimal("0.01") <= loss <= 1 or _places(loss) > 4:
            raise InvalidInput(
                fields={"stop_loss": ["A fraction from 0.01 to 1, at most 4 decimal places."]}
            )
    symbols = sorted({str(s).strip().upper() for s in terms.markets})
    if len(symbols) > 50:
        raise InvalidInput(fields={"markets": ["At most 50 markets."]})
    known = set(
        TradingPair.objects.filter(symbol__in=symbols, quote=asset).values_list("symbol", flat=True)
    )
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise InvalidInput(
            fields={
                "markets": [f"Not a market quoted in {asset.symbol}: {', '.join(unknown[:5])}."]
            }
        )
    return CopyTerms(
        mode=terms.mode,
        fixed_amount=terms.fixed_amount if terms.mode == Subscription.Mode.FIXED_AMOUNT else None,
        max_order_quote=terms.max_order_quote,
        markets=symbols,
        stop_loss=terms.stop_loss,
    )


def _sub_account_create(follower: User) -> User:
    """A sub-account of ``follower``: no usable password, never ranked, named at random."""
    name = f"copy_{secrets.token_hex(8)}"
    account = User(
        username=name,
        email=f"{name}@sub-account.invalid",
        handle=name,
        parent=follower,
        is_bot=False,
    )
    account.set_unusable_password()
    account.save()
    return account


def _allocation_account(sub: Subscription) -> Account:
    return wallet_account_get(user=sub.account_user)


def subscription_create(
    *, follower: User, leader_handle: str, amount: Decimal, terms: CopyTerms
) -> Subscription:
    """Copy a leader with ``amount`` of the copy asset, moved from the follower's available
    balance into a new allocation (a sub-account) through the ledger."""
    asset = copy_asset()
    wallet_amount_check(asset=asset, amount=amount)
    terms = _terms_check(terms, asset)
    with transaction.atomic():
        leader = (
            Leader.objects.select_for_update()
            .select_related("user")
            .filter(
                user__handle__iexact=str(leader_handle)[:30],
                status=Leader.Status.ACTIVE,
            )
            .first()
        )
        if leader is None or not _is_public(leader.user):
            raise errors.LeaderNotFound()
        if leader.user_id == follower.pk:
            raise errors.CopySelf()
        if follower.parent_id is not None:
            raise errors.CopySelf("A copy allocation cannot copy anyone.")
        if leader.subscriptions.filter(follower=follower, status__in=LIVE).exists():
            raise errors.AlreadyFollowing()
        if leader.subscriptions.filter(status__in=LIVE).count() >= leader.max_followers:
            raise errors.LeaderFull()
        if amount < leader.min_copy_amount:
            raise errors.BelowMinimumCopy(
                f"This trader accepts copies of at least "
                f"{format_decimal(leader.min_copy_amount, asset.decimals)} {asset.symbol}.",
                fields={"amount": ["Below the trader's minimum."]},
            )
        sub = Subscription.objects.create(
            follower=follower,
            leader=leader,
            account_user=_sub_account_create(follower),
            asset=asset,
            mode=terms.mode,
            fixed_amount=terms.fixed_amount,
            max_order_quote=terms.max_order_quote,
            markets=list(terms.markets),
            stop_loss=terms.stop_loss,
            allocated=amount,
            high_water_mark=amount,
        )
        wallet_debit(
            account=wallet_account_get(user=follower),
            destination=_allocation_account(sub),
            asset=asset,
            amount=amount,
            kind=JournalTransaction.Kind.TRANSFER,
            reference=f"copy:{sub.pk}",
            memo="copy trading allocation",
        )
    return sub


def _locked(*, follower: User, subscription_id: int) -> Subscription:
    sub = (
        Subscription.objects.select_for_update()
        .select_related("asset", "account_user", "leader", "leader__user")
        .filter(pk=subscription_id, follower=follower)
        .first()
    )
    if sub is None:
        raise errors.SubscriptionNotFound()
    return sub


def subscription_update(
    *, follower: User, subscription_id: int, terms: CopyTerms, status: str | None = None
) -> Subscription:
    """Change a live copy's terms; ``status`` ``paused`` stops new copies (the allocation
    stays), ``active`` resumes them."""
    with transaction.atomic():
        sub = _locked(follower=follower, subscription_id=subscription_id)
        if sub.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
            raise errors.SubscriptionClosed()
        terms = _terms_check(terms, sub.asset)
        sub.mode, sub.fixed_amount, sub.max_order_quote = (
            terms.mode,
            terms.fixed_amount,
            terms.max_order_quote,
        )
        sub.markets, sub.stop_loss = list(terms.markets), terms.stop_loss
        if status is not None:
            if status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
                raise InvalidInput(fields={"status": ["Must be active or paused."]})
            if status == Subscription.Status.ACTIVE and sub.leader.status != Leader.Status.ACTIVE:
                raise errors.SubscriptionClosed("This trader no longer leads.")
            sub.status = status
        sub.save()
    return sub


def subscription_top_up(*, follower: User, subscription_id: int, amount: Decimal) -> Subscription:
    """Move ``amount`` more from the follower's available balance into the allocation. The
    high-water mark rises by it: new money is not profit."""
    with transaction.atomic():
        sub = _locked(follower=follower, subscription_id=subscription_id)
        if sub.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
            raise errors.SubscriptionClosed()
        wallet_amount_check(asset=sub.asset, amount=amount)
        wallet_debit(
            account=wallet_account_get(user=follower),
            destination=_allocation_account(sub),
            asset=sub.asset,
            amount=amount,
            kind=JournalTransaction.Kind.TRANSFER,
            reference=f"copy:{sub.pk}",
            memo="copy trading top-up",
        )
        sub.allocated += amount
        sub.high_water_mark += amount
        sub.save(update_fields=["allocated", "high_water_mark"])
    return sub


def subscription_value(sub: Subscription) -> Decimal:
    """The allocation's value now, in its asset."""
    held = holdings_of([sub.account_user_id]).get(sub.account_user_id, {})
    return value_of(held, prices_in(sub.asset))


def subscription_withdraw(*, follower: User, subscription_id: int, amount: Decimal) -> Subscription:
    """Move ``amount`` of the allocation's unused (available) asset back to the follower. The
    high-water mark shrinks in proportion to the value taken out, so what stays is judged on
    the same footing."""
    with transaction.atomic():
        sub = _locked(follower=follower, subscription_id=subscription_id)
        if sub.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
            raise errors.SubscriptionClosed()
        wallet_amount_check(asset=sub.asset, amount=amount)
        value = subscription_value(sub)
        wallet_debit(
            account=_allocation_account(sub),
            destination=wallet_account_get(user=follower),
            asset=sub.asset,
            amount=amount,
            kind=JournalTransaction.Kind.TRANSFER,
            reference=f"copy:{sub.pk}",
            memo="copy trading withdrawal",
        )
        if value > 0:
            kept = max(value - amount, _ZERO) / value
            sub.high_water_mark = _quantize(sub.high_water_mark * kept, sub.asset)
        sub.withdrawn += amount
        sub.save(update_fields=["withdrawn", "high_water_mark"])
    return sub


def _quantize(amount: Decimal, asset: Asset) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-asset.decimals), rounding=ROUND_DOWN)


# --- stopping ----------------------------------------------------------------------------------


def subscription_stop(*, follower: User, subscription_id: int) -> Subscription:
    """The follower stops copying (``DELETE``): see ``subscription_close``."""
    with transaction.atomic():
        sub = _locked(follower=follower, subscription_id=subscription_id)
        if sub.status not in (Subscription.Status.ACTIVE, Subscription.Status.PAUSED):
            raise errors.SubscriptionClosed()
    return subscription_close(subscription_id=sub.pk, reason=Subscription.StopReason.FOLLOWER)


def subscription_close(*, subscription_id: int, reason: str) -> Subscription:
    """Stop copying: no new copies from now; open copies are cancelled and what the allocation
    holds besides its asset is sold at market (``closing``). ``subscription_finalize`` then
    settles the profit share and returns everything to the follower (``stopped``), at once
    when nothing was left to sell, else when the sells have settled (the beat task)."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("account_user", "asset")
            .get(pk=subscription_id)
        )
        if sub.status in (Subscription.Status.CLOSING, Subscription.Status.STOPPED):
            return sub
        sub.status, sub.stop_reason = Subscription.Status.CLOSING, reason
        sub.save(update_fields=["status", "stop_reason"])
    order_cancel_all(user=sub.account_user)
    _sell_back(sub)
    return subscription_finalize(subscription_id=sub.pk)


def _sell_back(sub: Subscription) -> None:
    """Market-sell the allocation's other assets into its asset (what cannot be sold, under a
    lot or in a halted market, is returned as it is by ``subscription_finalize``)."""
    pairs = {
        p.base_id: p for p in TradingPair.objects.filter(quote=sub.asset).select_related("base")
    }
    balances = Balance.objects.filter(
        account__user_id=sub.account_user_id, available__gt=0
    ).exclude(asset_id=sub.asset_id)
    for balance in balances:
        pair = pairs.get(balance.asset_id)
        if pair is None:
            continue
        quantity = (balance.available / pair.lot_size).to_integral_value(
            rounding=ROUND_DOWN
        ) * pair.lot_size
        if quantity <= 0:
            continue
        try:
            order_place(
                user=sub.account_user,
                symbol=pair.symbol,
                side="sell",
                type="market",
                quantity=quantity,
            )
        except DomainError:
            continue  # returned in kind by subscription_finalize


def subscription_finalize(*, subscription_id: int) -> Subscription:
    """Finish a closing subscription once its allocation has no open order: settle the profit
    share, move every balance back to the follower, mark it stopped and tell the follower."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("account_user", "asset", "leader", "leader__user", "follower")
            .get(pk=subscription_id)
        )
        if sub.status != Subscription.Status.CLOSING:
            return sub
        if Order.objects.filter(user_id=sub.account_user_id, status__in=OPEN_STATUSES).exists():
            return sub  # sells still settling: the beat task comes back
        _profit_share_settle(sub, trigger=ProfitShare.Trigger.STOP)
        source = _allocation_account(sub)
        home = wallet_account_get(user=sub.follower)
        for balance in Balance.objects.filter(account=source, available__gt=0).select_related(
            "asset"
        ):
            wallet_debit(
                account=source,
                destination=home,
                asset=balance.asset,
                amount=balance.available,
                kind=JournalTransaction.Kind.TRANSFER,
                reference=f"copy:{sub.pk}",
                memo="copy trading stopped",
            )
            if balance.asset_id == sub.asset_id:
                sub.withdrawn += balance.available
        sub.status, sub.stopped_at = Subscription.Status.STOPPED, timezone.now()
        sub.save(update_fields=["status", "stopped_at", "withdrawn"])
        stored = notifications_store(items=copy_stopped_items(subscription=sub))
        transaction.on_commit(lambda: notifications_publish(notifications=stored))
    return sub


# --- profit share ------------------------------------------------------------------------------


def _profit_share_settle(sub: Subscription, *, trigger: str) -> ProfitShare | None:
    """In the caller's transaction, the subscription locked: the leader earns
    ``rate x (value - high-water mark)`` when positive, paid from the allocation's available
    asset to the leader's spot account; the mark becomes the value after that payment. If the
    allocation cannot pay it all in its asset (it holds other assets), it pays what it can and
    the mark rises only by the gain that covers, so the rest is charged later and nothing
    twice."""
    rate = sub.leader.profit_share_rate
    value = subscription_value(sub)
    gain = value - sub.high_water_mark
    if gain <= 0 or rate <= 0:
        return None
    due = _quantize(gain * rate, sub.asset)
    source = _allocation_account(sub)
    available = (
        Balance.objects.filter(account=source, asset=sub.asset)
        .values_list("available", flat=True)
        .first()
        or _ZERO
    )
    amount = min(due, available)
    if amount <= 0:
        return None
    mark_before = sub.high_water_mark
    # The gain this payment covers raises the mark; the payment leaves the allocation, so the
    # mark is its value after paying (fully paid: value - amount).
    covered = gain if amount == due else _quantize(amount / rate, sub.asset)
    mark_after = mark_before + covered - amount
    share = ProfitShare.objects.create(
        subscription=sub,
        trigger=trigger,
        value=value,
        mark_before=mark_before,
        mark_after=mark_after,
        amount=amount,
    )
    wallet_debit(
        account=source,
        destination=wallet_account_get(user=sub.leader.user),
        asset=sub.asset,
        amount=amount,
        kind=JournalTransaction.Kind.TRANSFER,
        reference=f"profit_share:{share.pk}",
        memo="copy trading profit share",
    )
    sub.high_water_mark = mark_after
    sub.profit_share_paid += amount
    sub.save(update_fields=["high_water_mark", "profit_share_paid"])
    stored = notifications_store(items=profit_share_items(subscription=sub, share=share))
    transaction.on_commit(lambda: notifications_publish(notifications=stored))
    return share


def profit_share_settle(*, subscription_id: int) -> ProfitShare | None:
    """The periodic settlement of one live subscription (beat, ``COPY_PROFIT_SHARE_EVERY_S``)."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update()
            .select_related("account_user", "asset", "leader", "leader__user", "follower")
            .filter(pk=subscription_id, status__in=LIVE)
            .first()
        )
        if sub is None or sub.status == Subscription.Status.CLOSING:
            return None
        return _profit_share_settle(sub, trigger=ProfitShare.Trigger.PERIODIC)


def profit_share_settle_all() -> int:
    """Settle every live subscription's profit share: the number that paid."""
    ids = Subscription.objects.filter(
        status__in=(Subscription.Status.ACTIVE, Subscription.Status.PAUSED)
    ).values_list("id", flat=True)
    return sum(1 for pk in list(ids) if profit_share_settle(subscription_id=pk) is not None)


# --- the watch (beat) --------------------------------------------------------------------------


def copy_watch() -> int:
    """Close subscriptions whose stop-loss is reached (value at or under what was put in,
    net of withdrawals, times ``1 - stop_loss``) and finalize closing ones whose sells have
    settled. The number of subscriptions changed."""
    changed = 0
    guarded = list(
        Subscription.objects.filter(
            status__in=(Subscription.Status.ACTIVE, Subscription.Status.PAUSED),
            stop_loss__isnull=False,
        ).select_related("asset")
    )
    if guarded:
        held = holdings_of([s.account_user_id for s in guarded])
        prices: dict[int, dict[int, Decimal]] = {}
        for sub in guarded:
            if sub.asset_id not in prices:
                prices[sub.asset_id] = prices_in(sub.asset)
            value = value_of(held.get(sub.account_user_id, {}), prices[sub.asset_id])
            assert sub.stop_loss is not None
            if value <= (sub.allocated - sub.withdrawn) * (1 - sub.stop_loss):
                subscription_close(subscription_id=sub.pk, reason=Subscription.StopReason.STOP_LOSS)
                changed += 1
    for pk in Subscription.objects.filter(status=Subscription.Status.CLOSING).values_list(
        "id", flat=True
    ):
        if subscription_finalize(subscription_id=pk).status == Subscription.Status.STOPPED:
            changed += 1
    return changed
