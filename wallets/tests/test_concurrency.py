"""Concurrent withdrawals and deposits from separate threads, each with its own connection.

The Balance row locks (SELECT ... FOR UPDATE) serialize the writers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from tradehive.errors import DomainError
from wallets.deposits import deposit_create
from wallets.models import Account, Asset, Balance, Withdrawal
from wallets.services import wallet_account_get
from wallets.tests.factories import UserFactory
from wallets.verification import ledger_verify
from wallets.withdrawals import withdrawal_request

ADDRESS = "tst-address-0001"


@pytest.fixture
def tst(transactional_db: None) -> Asset:
    """An asset without fee or minimum (so 10 withdrawals of 10 use up exactly 100), uncapped."""
    return Asset.objects.create(
        symbol="TST",
        name="Test coin",
        decimals=2,
        withdrawal_fee=Decimal(0),
        withdrawal_min=Decimal(0),
    )


def _run_concurrently(calls: list[Callable[[], object]]) -> Counter[str]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> str:
        try:
            barrier.wait(timeout=30)
            call()
            return "ok"
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(run, calls))


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_withdrawals_of_10_against_100_let_exactly_10_through(tst):
    # given
    user = UserFactory.create()
    account = wallet_account_get(user=user)
    deposit_create(user=user, asset_symbol="TST", amount=Decimal(100))

    # when
    outcomes = _run_concurrently(
        [
            lambda: withdrawal_request(
                user=user, asset_symbol="TST", amount=Decimal(10), address=ADDRESS
            )
            for _ in range(50)
        ]
    )

    # then
    assert outcomes == Counter({"ok": 10, "insufficient_funds": 40})
    balance = Balance.objects.get(account=account, asset=tst)
    assert balance.available == Decimal(0)
    assert balance.locked == Decimal(100)
    assert Withdrawal.objects.filter(status="pending").count() == 10
    assert ledger_verify() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_deposits_and_withdrawals_mixed_never_overdraw(tst):
    # given
    user = UserFactory.create()
    account = wallet_account_get(user=user)
    deposit_create(user=user, asset_symbol="TST", amount=Decimal(100))
    withdrawals = [
        lambda: withdrawal_request(
            user=user, asset_symbol="TST", amount=Decimal(10), address=ADDRESS
        )
    ] * 40
    deposits = [lambda: deposit_create(user=user, asset_symbol="TST", amount=Decimal(10))] * 20
    calls = [call for pair in zip(withdrawals[:20], deposits, strict=True) for call in pair]
    calls += withdrawals[20:]

    # when
    outcomes = _run_concurrently(calls)

    # then
    assert set(outcomes) <= {"ok", "insufficient_funds"}
    succeeded_withdrawals = Withdrawal.objects.count()
    assert outcomes["ok"] == 20 + succeeded_withdrawals
    assert 10 <= succeeded_withdrawals <= 30
    balance = Balance.objects.get(account=account, asset=tst)
    assert balance.available == Decimal(100 + 200 - 10 * succeeded_withdrawals)
    assert balance.available >= 0
    assert balance.locked == Decimal(10 * succeeded_withdrawals)
    assert ledger_verify() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_creates_one_account(tst):
    # given
    user = UserFactory.create()

    # when
    outcomes = _run_concurrently([lambda: wallet_account_get(user=user)] * 10)

    # then
    assert outcomes == Counter({"ok": 10})
    assert Account.objects.filter(user=user).count() == 1
