"""Wallet writes: accounts, single movements and admin adjustments.

Money moves only through ``wallets.ledger.ledger_post``; the single movement services here
(``wallet_credit``, ``wallet_debit``, ``wallet_hold``, ``wallet_release``,
``wallet_transfer_locked``) are thin wrappers around it, each posting one journal in its own
transaction (or the caller's). Deposits and withdrawals have their own modules
(``wallets.deposits``, ``wallets.withdrawals``), the ledger's checks ``wallets.verification``.

Lock order across the project: domain rows first (the order, the withdrawal, the user's Account
for the deposit cap), Balance rows last, and Balance rows only through ``ledger_post``."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import User
from tradehive.errors import InvalidInput
from tradehive.money import decimal_places, format_amount, format_decimal
from tradehive.sql import prepared_cursor
from wallets import sql
from wallets.ledger import Leg, Posting, ledger_post
from wallets.models import Account, Asset, Bucket, JournalTransaction

# Largest single amount accepted from a user (the API's DecimalString bound too).
MAX_AMOUNT = Decimal("1e18")


# --- accounts ----------------------------------------------------------------------------------


def wallet_account_get(*, user: User) -> Account:
    """The user's account, created on first use. Race-free: ``Account.user`` is unique and
    ``get_or_create`` re-reads after losing an insert race."""
    account, _ = Account.objects.get_or_create(user=user, defaults={"kind": Account.Kind.USER})
    return account


def wallet_account_id_get(*, user: User) -> int:
    """The id of the user's account (created on first use): one indexed read, no model built.
    Order placement asks for it on every order."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.ACCOUNT_ID_SQL, [user.pk])
        row = cursor.fetchone()
    return row[0] if row is not None else wallet_account_get(user=user).pk


def wallet_system_account(*, kind: str) -> Account:
    """The one system account of ``kind`` (``fee``, ``house`` or ``external``), created on first
    use (a partial unique constraint keeps it one)."""
    if kind not in {Account.Kind.FEE, Account.Kind.HOUSE, Account.Kind.EXTERNAL}:
        raise ValueError(f"not a system account kind: {kind!r}")
    account, _ = Account.objects.get_or_create(kind=kind, user=None)
    return account


# --- single movements --------------------------------------------------------------------------


def wallet_amount_check(*, asset: Asset, amount: Decimal, field: str = "amount") -> Decimal:
    """Refuse (``invalid_input``) an amount that is not a finite positive Decimal of at most the
    asset's decimals and at most 10^18; return it unchanged."""
    problem = None
    if not isinstance(amount, Decimal) or not amount.is_finite():
        problem = "Must be a finite decimal."
    elif amount <= 0:
        problem = "Must be greater than zero."
    elif amount > MAX_AMOUNT:
        problem = f"Must be at most {format_amount(MAX_AMOUNT)}."
    elif decimal_places(amount) > asset.decimals:
        problem = f"At most {asset.decimals} decimal places are allowed for {asset.symbol}."
    if problem:
        raise InvalidInput(problem, fields={field: [problem]})
    return amount


def _post_one(kind: str, reference: str, legs: list[Leg], memo: str = "") -> JournalTransaction:
    with transaction.atomic():
        return ledger_post(
            postings=[Posting(kind=kind, reference=reference, legs=legs, memo=memo)]
        )[0]


def wallet_credit(
    *,
    account: Account,
    asset: Asset,
    amount: Decimal,
    reference: str,
    kind: str = JournalTransaction.Kind.DEPOSIT,
    source: Account | None = None,
    memo: str = "",
) -> JournalTransaction:
    """Move ``amount`` from ``source``'s available (default: the external account) to
    ``account``'s available. Takes its own Balance locks (caller holds none)."""
    wallet_amount_check(asset=asset, amount=amount)
    source = source or wallet_system_account(kind=Account.Kind.EXTERNAL)
    return _post_one(
        kind,
        reference,
        [
            Leg(source.pk, asset.pk, Bucket.AVAILABLE, -amount),
            Leg(account.pk, asset.pk, Bucket.AVAILABLE, amount),
        ],
        memo,
    )


def wallet_debit(
    *,
    account: Account,
    asset: Asset,
    amount: Decimal,
    reference: str,
    kind: str = JournalTransaction.Kind.WITHDRAWAL,
    destination: Account | None = None,
    memo: str = "",
) -> JournalTransaction:
    """Move ``amount`` from ``account``'s available to ``destination``'s available (default:
    external). ``InsufficientFunds`` when the account has less available."""
    wallet_amount_check(asset=asset, amount=amount)
    destination = destination or wallet_system_account(kind=Account.Kind.EXTERNAL)
    return _post_one(
        kind,
        reference,
        [
            Leg(account.pk, asset.pk, Bucket.AVAILABLE, -amount),
            Leg(destination.pk, asset.pk, Bucket.AVAILABLE, amount),
        ],
        memo,
    )


def wallet_hold(
    *,
    account: Account,
    asset: Asset,
    amount: Decimal,
    reference: str,
    kind: str = JournalTransaction.Kind.HOLD,
) -> JournalTransaction:
    """available -> locked of one account. ``InsufficientFunds`` when available is short."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(
        kind,
        reference,
        [
            Leg(account.pk, asset.pk, Bucket.AVAILABLE, -amount),
            Leg(account.pk, asset.pk, Bucket.LOCKED, amount),
        ],
    )


def wallet_release(
    *,
    account: Account,
    asset: Asset,
    amount: Decimal,
    reference: str,
    kind: str = JournalTransaction.Kind.RELEASE,
) -> JournalTransaction:
    """locked -> available of one account. ``InsufficientFunds`` when locked is short."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(
        kind,
        reference,
        [
            Leg(account.pk, asset.pk, Bucket.LOCKED, -amount),
            Leg(account.pk, asset.pk, Bucket.AVAILABLE, amount),
        ],
    )


def wallet_transfer_locked(
    *,
    from_account: Account,
    to_account: Account,
    asset: Asset,
    amount: Decimal,
    reference: str,
    kind: str = JournalTransaction.Kind.TRADE,
) -> JournalTransaction:
    """``from_account``'s locked -> ``to_account``'s available (settling a trade)."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(
        kind,
        reference,
        [
            Leg(from_account.pk, asset.pk, Bucket.LOCKED, -amount),
            Leg(to_account.pk, asset.pk, Bucket.AVAILABLE, amount),
        ],
    )


@transaction.atomic
def wallet_adjust(
    *,
    account: Account,
    asset: Asset,
    direction: Literal["credit", "debit"],
    amount: Decimal,
    reason: str,
    admin: User,
    request: HttpRequest | None = None,
) -> JournalTransaction:
    """An admin's correction against the external account (an ``adjustment`` journal), audited
    as ``wallet.adjustment``. A debit cannot take more than the account has available."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("A reason is required.", fields={"reason": ["A reason is required."]})
    reference = f"adjustment:{admin.pk}"
    kind = JournalTransaction.Kind.ADJUSTMENT
    if direction == "credit":
        journal = wallet_credit(
            account=account,
            asset=asset,
            amount=amount,
            kind=kind,
            reference=reference,
            memo=reason[:200],
        )
    elif direction == "debit":
        journal = wallet_debit(
            account=account,
            asset=asset,
            amount=amount,
            kind=kind,
            reference=reference,
            memo=reason[:200],
        )
    else:
        raise InvalidInput(fields={"direction": ["Must be credit or debit."]})
    audit_record(
        event="wallet.adjustment",
        user=account.user,
        actor=admin,
        request=request,
        account_id=account.pk,
        asset=asset.symbol,
        direction=direction,
        amount=format_decimal(amount),
        reason=reason,
        journal_id=journal.pk,
    )
    return journal
