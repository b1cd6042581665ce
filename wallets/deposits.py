"""Deposits: simulated on-chain deposits, credited at once (demo mode), capped per day."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from tradehive.money import format_amount
from wallets import conf
from wallets.errors import DepositLimitExceeded, DepositsDisabled
from wallets.models import Account, Deposit
from wallets.publish import balances_publish
from wallets.selectors import asset_active_get
from wallets.services import wallet_account_get, wallet_amount_check, wallet_credit


def _utc_day_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def deposit_create(*, user: User, asset_symbol: str, amount: Decimal) -> Deposit:
    """A simulated on-chain deposit, credited at once from the external account (demo mode).

    Capped per user per asset per UTC day (``WALLET_DEPOSIT_DAILY_CAPS``): over the cap is
    ``deposit_limit_exceeded`` and nothing is credited. Locks the user's Account row so two
    concurrent deposits cannot both slip under the cap."""
    asset = asset_active_get(symbol=asset_symbol)
    if not conf.demo_deposits_enabled():
        raise DepositsDisabled("Deposits are disabled on this exchange.")
    if not asset.deposit_enabled:
        raise DepositsDisabled()
    wallet_amount_check(asset=asset, amount=amount)
    account = wallet_account_get(user=user)
    # NO KEY UPDATE: concurrent inserts that reference the account (deferred FK checks take
    # KEY SHARE at commit) must not wait on this lock, or they could deadlock with us.
    Account.objects.select_for_update(no_key=True).filter(pk=account.pk).first()
    cap = conf.deposit_daily_cap(asset.symbol)
    now = timezone.now()
    if cap is not None:
        used = Deposit.objects.filter(
            user=user, asset=asset, created_at__gte=_utc_day_start(now)
        ).aggregate(total=Coalesce(Sum("amount"), Decimal(0)))["total"]
        if used + amount > cap:
            left = format_amount(max(cap - used, Decimal(0)), asset.decimals)
            message = (
                f"The daily deposit limit for {asset.symbol} is "
                f"{format_amount(cap, asset.decimals)} {asset.symbol}; {left} is left today."
            )
            raise DepositLimitExceeded(message, fields={"amount": [message]})
    deposit = Deposit.objects.create(user=user, asset=asset, amount=amount, created_at=now)
    wallet_credit(account=account, asset=asset, amount=amount, reference=f"deposit:{deposit.pk}")
    transaction.on_commit(lambda: balances_publish(user_id=user.pk, asset=asset), robust=True)
    return deposit
