"""Property test: random sequences of deposits, holds, releases, locked transfers and
withdrawals (request, cancel, reject, complete) across several accounts keep the ledger's
invariants after every step, and match a small pure-Python model of the balances."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallets.deposits import deposit_create
from wallets.errors import InsufficientFunds
from wallets.holds import register_hold_source, unregister_hold_source
from wallets.models import Account, Asset, Balance, Withdrawal
from wallets.services import wallet_account_get, wallet_hold, wallet_release, wallet_transfer_locked
from wallets.tests.factories import UserFactory
from wallets.verification import ledger_verify
from wallets.withdrawals import (
    withdrawal_cancel,
    withdrawal_complete,
    withdrawal_reject,
    withdrawal_request,
)

USERS = 3
FEE = Decimal("0.50")
amounts = st.integers(min_value=1, max_value=5000).map(lambda n: Decimal(n).scaleb(-2))
who = st.integers(min_value=0, max_value=USERS - 1)
operations = st.one_of(
    st.tuples(st.just("deposit"), who, amounts),
    st.tuples(st.just("hold"), who, amounts),
    st.tuples(st.just("release"), who, amounts),
    st.tuples(st.just("transfer"), who, who, amounts),
    st.tuples(st.just("withdraw"), who, amounts),
    st.tuples(st.sampled_from(["cancel", "reject", "complete"]), who),
)

# Direct holds made by this test (standing in for open orders), reported as a hold source.
direct_holds: dict[tuple[int, int], Decimal] = defaultdict(Decimal)


@pytest.fixture
def hold_source():
    direct_holds.clear()
    register_hold_source("tests.direct_holds", lambda: dict(direct_holds))
    yield
    unregister_hold_source("tests.direct_holds")
    direct_holds.clear()


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(operations, min_size=1, max_size=12))
def test_random_sequences_keep_the_ledger_consistent(hold_source, admin_user, steps):
    # given: fresh users per example (the database is shared by all examples of this test)
    asset, _ = Asset.objects.get_or_create(
        symbol="PROP",
        defaults={
            "name": "Property coin",
            "decimals": 2,
            "withdrawal_fee": FEE,
            "withdrawal_min": Decimal("0.01"),
        },
    )
    users = [UserFactory.create() for _ in range(USERS)]
    accounts = [wallet_account_get(user=u) for u in users]
    available = [Decimal(0)] * USERS
    locked = [Decimal(0)] * USERS
    # direct_holds is not cleared: earlier examples' holds are still in the database.

    for step in steps:
        # when
        kind, i = step[0], step[1]
        account = accounts[i]
        key = (account.pk, asset.pk)
        if kind == "deposit":
            deposit_create(user=users[i], asset_symbol="PROP", amount=step[2])
            available[i] += step[2]
        elif kind in {"hold", "release", "withdraw"}:
            amount = step[2]
            calls = {
                "hold": partial(
                    wallet_hold, account=account, asset=asset, amount=amount, reference="t"
                ),
                "release": partial(
                    wallet_release, account=account, asset=asset, amount=amount, reference="t"
                ),
                "withdraw": partial(
                    withdrawal_request,
                    user=users[i],
                    asset_symbol="PROP",
                    amount=amount,
                    address="prop-address-1",
                ),
            }
            needed = amount + FEE if kind == "withdraw" else amount
            source_has = locked[i] if kind == "release" else available[i]
            if needed > source_has:
                with pytest.raises(InsufficientFunds):
                    calls[kind]()
                continue
            if kind == "release" and amount > direct_holds[key]:
                continue  # would release a withdrawal's hold: not this test's to release
            calls[kind]()
            if kind == "hold":
                direct_holds[key] += amount
            elif kind == "release":
                direct_holds[key] -= amount
            sign = -1 if kind == "release" else 1
            available[i] -= sign * needed
            locked[i] += sign * needed
        elif kind == "transfer":
            j, amount = step[2], step[3]
            if amount > direct_holds[key]:
                if amount > locked[i]:
                    with pytest.raises(InsufficientFunds):
                        wallet_transfer_locked(
                            from_account=account,
                            to_account=accounts[j],
                            asset=asset,
                            amount=amount,
                            reference="t",
                        )
                continue
            wallet_transfer_locked(
                from_account=account,
                to_account=accounts[j],
                asset=asset,
                amount=amount,
                reference="t",
            )
            direct_holds[key] -= amount
            locked[i] -= amount
            available[j] += amount
        else:
            pending = Withdrawal.objects.filter(user=users[i], status="pending").first()
            if pending is None:
                continue
            if kind == "cancel":
                withdrawal_cancel(user=users[i], withdrawal_id=pending.pk)
                available[i] += pending.held
            elif kind == "reject":
                withdrawal_reject(withdrawal_id=pending.pk, admin=admin_user, reason="test")
                available[i] += pending.held
            else:
                withdrawal_complete(withdrawal_id=pending.pk, admin=admin_user, txid="0xabc1234567")
            locked[i] -= pending.held

        # then
        assert ledger_verify() == [], step
        for n, acct in enumerate(accounts):
            balance = Balance.objects.filter(account=acct, asset=asset).first()
            got = (balance.available, balance.locked) if balance else (Decimal(0), Decimal(0))
            assert got == (available[n], locked[n]), (step, n)
    assert Account.objects.filter(kind="external").count() <= 1
