"""The ledger core: ledger_post and the single-movement services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from tradehive.errors import InvalidInput
from wallets.errors import InsufficientFunds
from wallets.ledger import Leg, Posting, ledger_post
from wallets.models import Account, Balance, Bucket, JournalTransaction, LedgerEntry
from wallets.selectors import balance_get
from wallets.services import (
    wallet_account_get,
    wallet_credit,
    wallet_debit,
    wallet_hold,
    wallet_release,
    wallet_system_account,
    wallet_transfer_locked,
)
from wallets.tests.factories import UserFactory
from wallets.verification import ledger_verify

pytestmark = pytest.mark.django_db


def test_every_user_gets_one_account_and_system_accounts_are_single(user):
    # given / when
    first = wallet_account_get(user=user)
    again = wallet_account_get(user=user)
    fee = wallet_system_account(kind=Account.Kind.FEE)

    # then
    assert first.pk == again.pk
    assert first.kind == Account.Kind.USER
    assert wallet_system_account(kind=Account.Kind.FEE).pk == fee.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind=Account.Kind.FEE)


def test_credit_moves_money_from_external_and_records_balanced_entries(assets, user):
    # given
    account = wallet_account_get(user=user)

    # when
    journal = wallet_credit(
        account=account, asset=assets["BTC"], amount=Decimal("1.5"), reference="test:1"
    )

    # then
    assert balance_get(account=account, asset=assets["BTC"]).available == Decimal("1.5")
    entries = list(journal.entries.order_by("id"))
    assert [e.amount for e in entries] == [Decimal("-1.5"), Decimal("1.5")]
    assert entries[0].account.kind == Account.Kind.EXTERNAL
    assert entries[1].balance_after == Decimal("1.5")
    assert journal.kind == "deposit"
    assert journal.reference == "test:1"
    assert ledger_verify() == []


def test_hold_release_and_transfer_locked(assets, user, other_user, fund):
    # given
    seller = fund(user, assets["BTC"], "2")
    buyer = wallet_account_get(user=other_user)

    # when
    wallet_hold(account=seller, asset=assets["BTC"], amount=Decimal("1.2"), reference="order:1")
    wallet_transfer_locked(
        from_account=seller,
        to_account=buyer,
        asset=assets["BTC"],
        amount=Decimal("0.7"),
        reference="fill:1",
    )
    wallet_release(account=seller, asset=assets["BTC"], amount=Decimal("0.5"), reference="order:1")

    # then
    seller_balance = balance_get(account=seller, asset=assets["BTC"])
    assert (seller_balance.available, seller_balance.locked) == (Decimal("1.3"), Decimal(0))
    assert balance_get(account=buyer, asset=assets["BTC"]).available == Decimal("0.7")
    assert ledger_verify() == []


@pytest.mark.parametrize("operation", ["debit", "hold", "release", "transfer"])
def test_overdraw_raises_insufficient_funds_and_writes_nothing(assets, user, fund, operation):
    # given
    account = fund(user, assets["KRW"], "100")
    journals_before = JournalTransaction.objects.count()
    amount = Decimal(101) if operation in {"debit", "hold"} else Decimal(1)
    calls = {
        "debit": lambda: wallet_debit(
            account=account, asset=assets["KRW"], amount=amount, reference="order:4242"
        ),
        "hold": lambda: wallet_hold(
            account=account, asset=assets["KRW"], amount=amount, reference="order:4242"
        ),
        "release": lambda: wallet_release(
            account=account, asset=assets["KRW"], amount=amount, reference="order:4242"
        ),
        "transfer": lambda: wallet_transfer_locked(
            from_account=account,
            to_account=account,
            asset=assets["KRW"],
            amount=amount,
            reference="order:4242",
        ),
    }

    # when
    with pytest.raises(InsufficientFunds) as caught:
        calls[operation]()

    # then
    assert caught.value.code == "insufficient_funds"
    assert caught.value.status == 400
    assert "order" not in caught.value.message  # an internal reference: never in the message
    assert "4242" not in caught.value.message
    balance = balance_get(account=account, asset=assets["KRW"])
    assert (balance.available, balance.locked) == (Decimal(100), Decimal(0))
    assert JournalTransaction.objects.count() == journals_before


@pytest.mark.parametrize("amount", ["0.000000001", "0", "-1", "NaN", "Infinity", "1e19"])
def test_bad_amounts_are_refused(assets, user, amount):
    # given
    account = wallet_account_get(user=user)

    # when / then
    with pytest.raises(InvalidInput):
        wallet_credit(account=account, asset=assets["BTC"], amount=Decimal(amount), reference="x")
    assert not LedgerEntry.objects.exists()


def test_batch_posts_many_journals_with_sequential_balance_after(assets, user, other_user, fund):
    # given
    alice = fund(user, assets["KRW"], "1000")
    bob = wallet_account_get(user=other_user)
    krw = assets["KRW"].pk
    postings = [
        Posting(
            kind="hold",
            reference=f"order:{i}",
            legs=[
                Leg(alice.pk, krw, Bucket.AVAILABLE, Decimal(-100)),
                Leg(alice.pk, krw, Bucket.LOCKED, Decimal(100)),
            ],
        )
        for i in range(3)
    ] + [
        Posting(
            kind="trade",
            reference="fill:1",
            legs=[
                Leg(alice.pk, krw, Bucket.LOCKED, Decimal(-250)),
                Leg(bob.pk, krw, Bucket.AVAILABLE, Decimal(250)),
            ],
        ),
    ]

    # when
    with transaction.atomic():
        journals = ledger_post(postings=postings)

    # then
    assert [j.reference for j in journals] == ["order:0", "order:1", "order:2", "fill:1"]
    locked_afters = list(
        LedgerEntry.objects.filter(account=alice, bucket="locked")
        .order_by("id")
        .values_list("balance_after", flat=True)
    )
    assert locked_afters == [Decimal(100), Decimal(200), Decimal(300), Decimal(50)]
    balance = Balance.objects.get(account=alice, asset_id=krw)
    assert (balance.available, balance.locked) == (Decimal(700), Decimal(50))
    assert Balance.objects.get(account=bob, asset_id=krw).available == Decimal(250)


def test_a_batch_with_one_overdraw_writes_nothing(assets, user, fund):
    # given
    alice = fund(user, assets["KRW"], "100")
    krw = assets["KRW"].pk
    hold = [
        Leg(alice.pk, krw, Bucket.AVAILABLE, Decimal(-60)),
        Leg(alice.pk, krw, Bucket.LOCKED, Decimal(60)),
    ]

    # when
    with pytest.raises(InsufficientFunds), transaction.atomic():
        ledger_post(postings=[Posting("hold", "order:1", hold), Posting("hold", "order:2", hold)])

    # then
    assert Balance.objects.get(account=alice, asset_id=krw).available == Decimal(100)
    assert LedgerEntry.objects.filter(journal__kind="hold").count() == 0


def test_unbalanced_postings_are_a_programming_error(assets, user):
    # given
    account = wallet_account_get(user=user)
    legs = [
        Leg(account.pk, assets["KRW"].pk, Bucket.AVAILABLE, Decimal(5)),
        Leg(account.pk, assets["KRW"].pk, Bucket.LOCKED, Decimal(-4)),
    ]

    # when / then
    with pytest.raises(ValueError, match="does not balance"), transaction.atomic():
        ledger_post(postings=[Posting("adjustment", "x", legs)])


@pytest.mark.django_db(transaction=True)
def test_ledger_post_requires_the_callers_transaction(assets, user):
    # given
    account = wallet_account_get(user=user)
    external = wallet_system_account(kind=Account.Kind.EXTERNAL)
    legs = [
        Leg(external.pk, assets["KRW"].pk, Bucket.AVAILABLE, Decimal(-5)),
        Leg(account.pk, assets["KRW"].pk, Bucket.AVAILABLE, Decimal(5)),
    ]

    # when / then
    with pytest.raises(RuntimeError):
        ledger_post(postings=[Posting("deposit", "x", legs)])
    assert not LedgerEntry.objects.exists()


def test_database_refuses_a_negative_user_balance(assets, user, fund):
    # given
    account = fund(user, assets["KRW"], "10")

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(account=account).update(available=Decimal(-1))


def test_posting_with_existing_balances_takes_four_queries(
    assets, user, other_user, fund, django_assert_num_queries
):
    # given
    alice = fund(user, assets["KRW"], "1000")
    bob = fund(other_user, assets["KRW"], "1")
    krw = assets["KRW"].pk
    postings = [
        Posting(
            "trade",
            f"fill:{i}",
            [
                Leg(alice.pk, krw, Bucket.AVAILABLE, Decimal(-1)),
                Leg(bob.pk, krw, Bucket.AVAILABLE, Decimal(1)),
            ],
        )
        for i in range(50)
    ]

    # when / then
    with django_assert_num_queries(4), transaction.atomic(savepoint=False):
        ledger_post(postings=postings)


def test_ledger_check_command_passes_and_fails_loudly(assets, user, fund, capsys):
    # given
    account = fund(user, assets["BTC"], "1")
    call_command("ledger_check")
    assert "ledger_check: OK" in capsys.readouterr().out

    # when: a balance changed by hand, not through the ledger
    Balance.objects.filter(account=account, asset=assets["BTC"]).update(available=Decimal(2))

    # then
    with pytest.raises(CommandError):
        call_command("ledger_check")
    assert "balance_mismatch" in capsys.readouterr().err


def test_ledger_verify_reports_locked_funds_without_an_open_hold(assets, user, fund):
    # given: funds locked by a hold no registered source knows about
    account = fund(user, assets["BTC"], "1")
    wallet_hold(account=account, asset=assets["BTC"], amount=Decimal("0.5"), reference="x")

    # when
    problems = ledger_verify()

    # then
    assert [p.check for p in problems] == ["holds"]


def test_new_users_account_is_created_once_under_factory(db):
    # given
    users = UserFactory.create_batch(3)

    # when
    accounts = {wallet_account_get(user=u).pk for u in users for _ in range(2)}

    # then
    assert len(accounts) == 3


def test_a_hold_between_the_buckets_of_one_balance_takes_one_query(
    assets, user, fund, django_assert_num_queries
):
    # given
    account = fund(user, assets["KRW"], "1000")
    krw = assets["KRW"].pk
    hold = Posting(
        "hold",
        "order:7",
        [
            Leg(account.pk, krw, Bucket.AVAILABLE, Decimal(-300)),
            Leg(account.pk, krw, Bucket.LOCKED, Decimal(300)),
        ],
    )

    # when
    with django_assert_num_queries(1), transaction.atomic(savepoint=False):
        [journal] = ledger_post(postings=[hold])

    # then: the same rows the general path writes
    assert (journal.kind, journal.reference) == ("hold", "order:7")
    entries = list(
        LedgerEntry.objects.filter(journal_id=journal.pk)
        .order_by("id")
        .values_list("bucket", "amount", "balance_after")
    )
    assert entries == [
        ("available", Decimal(-300), Decimal(700)),
        ("locked", Decimal(300), Decimal(300)),
    ]
    balance = Balance.objects.get(account=account, asset_id=krw)
    assert (balance.available, balance.locked) == (Decimal(700), Decimal(300))


def test_a_release_takes_the_same_single_statement(assets, user, fund):
    # given 300 of 1000 held
    account = fund(user, assets["KRW"], "1000")
    wallet_hold(account=account, asset=assets["KRW"], amount=Decimal(300), reference="x")

    # when
    wallet_release(account=account, asset=assets["KRW"], amount=Decimal(120), reference="x")

    # then
    balance = Balance.objects.get(account=account, asset=assets["KRW"])
    assert (balance.available, balance.locked) == (Decimal(820), Decimal(180))
    last = list(LedgerEntry.objects.order_by("-id").values_list("bucket", "balance_after")[:2])
    assert last == [("available", Decimal(820)), ("locked", Decimal(180))]


def test_a_hold_finer_than_the_asset_is_refused_by_the_general_path(assets, user, fund):
    # given KRW has no decimals
    account = fund(user, assets["KRW"], "1000")
    krw = assets["KRW"].pk
    hold = Posting(
        "hold",
        "x",
        [
            Leg(account.pk, krw, Bucket.AVAILABLE, Decimal("-1.5")),
            Leg(account.pk, krw, Bucket.LOCKED, Decimal("1.5")),
        ],
    )

    # when / then
    with pytest.raises(InvalidInput), transaction.atomic():
        ledger_post(postings=[hold])
    assert not LedgerEntry.objects.filter(journal__kind="hold").exists()


def test_a_hold_without_a_balance_row_is_insufficient_funds(assets, user):
    # given an account that never held BTC
    account = wallet_account_get(user=user)
    btc = assets["BTC"].pk
    hold = Posting(
        "hold",
        "x",
        [
            Leg(account.pk, btc, Bucket.AVAILABLE, Decimal("-0.1")),
            Leg(account.pk, btc, Bucket.LOCKED, Decimal("0.1")),
        ],
    )

    # when / then
    with pytest.raises(InsufficientFunds), transaction.atomic():
        ledger_post(postings=[hold])
    assert not LedgerEntry.objects.filter(journal__kind="hold").exists()
