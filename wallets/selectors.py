"""Wallet reads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, QuerySet, Sum

from accounts.models import User
from wallets.errors import UnknownAsset
from wallets.holds import HoldMap
from wallets.models import Account, Asset, Balance, Deposit, LedgerEntry, Withdrawal


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
