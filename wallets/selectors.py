"""Wallet reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum

from accounts.models import User
from wallets.errors import UnknownAsset
from wallets.holds import HoldMap
from wallets.models import (
    Account,
    Asset,
    Balance,
    Deposit,
    JournalTransaction,
    LedgerEntry,
    Withdrawal,
)


def asset_active_get(*, symbol: object) -> Asset:
    """The active asset with this symbol; ``UnknownAsset`` (400 ``unknown_asset``) otherwise."""
    if not isinstance(symbol, str) or not symbol:
        raise UnknownAsset()
    asset = Asset.objects.filter(symbol=symbol.strip().upper(), is_active=True).first()
    if asset is None:
        raise UnknownAsset(f"Unknown or inactive asset {symbol[:20]!r}.")
    return asset


def asset_list_active() -> QuerySet[Asset]:
    return Asset.objects.filter(is_active=True).order_by("symbol")


@dataclass(frozen=True)
class BalanceRow:
    asset: Asset
    available: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


def balance_list_for_user(*, user: User) -> list[BalanceRow]:
    """Every asset the user holds, plus a zero row for each active asset they do not hold."""
    held = {
        balance.asset_id: balance
        for balance in Balance.objects.filter(account__user=user).select_related("asset")
    }
    rows = [BalanceRow(b.asset, b.available, b.locked) for b in held.values()]
    rows += [
        BalanceRow(asset, Decimal(0), Decimal(0))
        for asset in asset_list_active()
        if asset.pk not in held
    ]
    return sorted(rows, key=lambda row: row.asset.symbol)


def balance_get(*, account: Account, asset: Asset) -> BalanceRow:
    balance = Balance.objects.filter(account=account, asset=asset).first()
    if balance is None:
        return BalanceRow(asset, Decimal(0), Decimal(0))
    return BalanceRow(asset, balance.available, balance.locked)


def ledger_entry_list_for_user(
    *, user: User, asset_symbol: str | None = None
) -> QuerySet[LedgerEntry]:
    """The user's ledger entries, newest first; ``asset_symbol`` filters (inactive assets too,
    their history stays readable; an unknown symbol is ``unknown_asset``)."""
    queryset = (
        LedgerEntry.objects.filter(account__user=user)
        .select_related("asset", "journal")
        .order_by("-id")
    )
    if asset_symbol:
        asset = Asset.objects.filter(symbol=asset_symbol.strip().upper()).first()
        if asset is None:
            raise UnknownAsset(f"Unknown asset {asset_symbol[:20]!r}.")
        queryset = queryset.filter(asset=asset)
    return queryset


def deposit_list_for_user(*, user: User) -> QuerySet[Deposit]:
    return Deposit.objects.filter(user=user).select_related("asset").order_by("-id")


def withdrawal_list_for_user(*, user: User) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(user=user).select_related("asset").order_by("-id")


def withdrawal_pending_holds() -> HoldMap:
    """What pending withdrawals hold: {(account_id, asset_id): amount + fee} (a hold source)."""
    rows = (
        Withdrawal.objects.filter(status=Withdrawal.Status.PENDING)
        .values("account_id", "asset_id")
        .annotate(total=Sum(F("amount") + F("fee")))
    )
    return {(row["account_id"], row["asset_id"]): row["total"] for row in rows}


def _family_accounts(user: User) -> QuerySet[Account]:
    """The wallet accounts of ``user`` and of the user's sub-accounts (copy trading's), whose
    money is the user's too."""
    return Account.objects.filter(Q(user=user) | Q(user__parent=user))


def holdings_for_user(*, user: User, at: datetime | None = None) -> dict[int, Decimal]:
    """Asset id -> what ``user`` (with sub-accounts) holds, available plus locked: now from the
    balances, or at ``at`` from the ledger entries before it. Assets held at zero are left out."""
    accounts = _family_accounts(user)
    rows: list[tuple[int, Decimal]]
    if at is None:
        rows = list(
            Balance.objects.filter(account__in=accounts)
            .values("asset_id")
            .annotate(held=Sum(F("available") + F("locked")))
            .values_list("asset_id", "held")
        )
    else:
        rows = list(
            LedgerEntry.objects.filter(account__in=accounts, journal__created_at__lt=at)
            .values("asset_id")
            .annotate(held=Sum("amount"))
            .values_list("asset_id", "held")
        )
    return {asset_id: held for asset_id, held in rows if held}


@dataclass(frozen=True)
class ExternalFlow:
    """Money that came in (+) or went out (-) of the user's accounts from outside the exchange:
    a deposit, a withdrawal (with its fee), an adjustment by the exchange."""

    asset_id: int
    amount: Decimal
    created_at: datetime


_EXTERNAL_KINDS = (
    JournalTransaction.Kind.DEPOSIT,
    JournalTransaction.Kind.WITHDRAWAL,
    JournalTransaction.Kind.ADJUSTMENT,
)


def external_flows_for_user(*, user: User, since: datetime) -> list[ExternalFlow]:
    """The user's (with sub-accounts) external flows since ``since``, oldest first."""
    rows = (
        LedgerEntry.objects.filter(
            account__in=_family_accounts(user),
            journal__kind__in=_EXTERNAL_KINDS,
            journal__created_at__gte=since,
        )
        .order_by("id")
        .values_list("asset_id", "amount", "journal__created_at")
    )
    return [ExternalFlow(asset_id, amount, created_at) for asset_id, amount, created_at in rows]
