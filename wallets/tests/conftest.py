"""Fixtures of the wallet tests."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import User
from wallets.models import Account, Asset
from wallets.seed import asset_seed_defaults
from wallets.services import wallet_account_get, wallet_credit
from wallets.tests.factories import UserFactory

BTC_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
KRW_ADDRESS = "1234567890123"


@pytest.fixture
def assets(db: None) -> dict[str, Asset]:
    return {asset.symbol: asset for asset in asset_seed_defaults()}


@pytest.fixture
def user(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def fund() -> Callable[..., Account]:
    """fund(user, asset, "100") credits a user's available balance from the external account."""

    def _fund(user: User, asset: Asset, amount: str) -> Account:
        account = wallet_account_get(user=user)
        with transaction.atomic():
            wallet_credit(
                account=account, asset=asset, amount=Decimal(amount), reference="test:fund"
            )
        return account

    return _fund
