"""The house: the system account feed-priced markets fill against, and its funding."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from wallets.models import Account, Asset, JournalTransaction
from wallets.selectors import balance_get
from wallets.services import wallet_credit, wallet_system_account

# What ``seed_demo`` tops the house up to: enough for a demo's feed fills in every asset.
HOUSE_DEMO_FUNDS = {
    "BTC": Decimal(1000),
    "ETH": Decimal(10000),
    "XRP": Decimal(10000000),
    "KRW": Decimal(10) ** 12,
    "USDT": Decimal(10) ** 8,
}


@transaction.atomic
def house_fund(*, amounts: dict[str, Decimal]) -> list[JournalTransaction]:
    """Top the house liquidity account up to ``amounts`` (asset symbol -> target available),
    moving the difference from the external account (an ``adjustment`` journal, reference
    ``house:fund``). Idempotent: an account already at or above its target gets nothing."""
    house = wallet_system_account(kind=Account.Kind.HOUSE)
    journals = []
    for symbol, target in sorted(amounts.items()):
        asset = Asset.objects.get(symbol=symbol)
        have = balance_get(account=house, asset=asset).available
        if have < target:
            journals.append(
                wallet_credit(
                    account=house,
                    asset=asset,
                    amount=target - have,
                    reference="house:fund",
                    kind=JournalTransaction.Kind.ADJUSTMENT,
                )
            )
    return journals
