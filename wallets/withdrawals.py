"""Withdrawals: request (``amount + fee`` held), cancel or reject (released), complete (sent to
the external account, the fee to the fee account).

Lock order: the Withdrawal row first (``_withdrawal_lock``), Balance rows last, through
``wallets.ledger.ledger_post``."""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.api_keys import api_key_permission_check
from accounts.audit import audit_record
from accounts.mfa import mfa_check
from accounts.models import ApiKey, User
from tradehive.errors import InvalidInput, NotFound
from tradehive.money import format_amount, format_decimal
from wallets.errors import (
    InvalidAddress,
    WithdrawalBelowMinimum,
    WithdrawalNotPending,
    WithdrawalsDisabled,
)
from wallets.ledger import Leg, Posting, ledger_post
from wallets.models import Account, Asset, Bucket, JournalTransaction, Withdrawal
from wallets.notifications import withdrawal_notify
from wallets.publish import balances_publish
from wallets.selectors import asset_active_get
from wallets.services import (
    wallet_account_get,
    wallet_amount_check,
    wallet_hold,
    wallet_release,
    wallet_system_account,
)

# An address for an asset without its own pattern: 8-100 printable ASCII characters, no spaces.
DEFAULT_ADDRESS_PATTERN = r"^[\x21-\x7e]{8,100}$"
# A chain's transaction id as an admin pastes it: 8-100 printable ASCII characters, no spaces.
TXID_PATTERN = re.compile(r"[\x21-\x7e]{8,100}")


def _after_commit(withdrawal: Withdrawal, *, notify: bool) -> None:
    """After the change committed: tell the owner (a decision) and push their balance."""

    def run() -> None:
        if notify:
            withdrawal_notify(withdrawal=withdrawal)
        balances_publish(user_id=withdrawal.user_id, asset=withdrawal.asset)

    transaction.on_commit(run, robust=True)


def _address_check(*, asset: Asset, address: str) -> str:
    address = (address or "").strip()
    pattern = asset.address_pattern or DEFAULT_ADDRESS_PATTERN
    if len(address) > 120 or not re.fullmatch(pattern, address):
        message = f"Not a valid {asset.symbol} address."
        raise InvalidAddress(message, fields={"address": [message]})
    return address


def withdrawal_request(
    *,
    user: User,
    asset_symbol: str,
    amount: Decimal,
    address: str,
    otp: str | None = None,
    api_key: ApiKey | None = None,
    request: HttpRequest | None = None,
) -> Withdrawal:
    """Request a withdrawal: MFA first (``mfa_required``), then asset, amount (>= the asset's
    minimum), address format; ``amount + fee`` moves available -> locked (``insufficient_funds``
    when short). The answer is a ``pending`` withdrawal.

    Made with an ``api_key`` (a signed bot request), the key must have the ``withdraw``
    permission and no code is asked: the key's creation needed MFA and binds it to an IP
    allow-list (``accounts.api_keys``). Such requests are audited with the key."""
    if api_key is not None:
        api_key_permission_check(api_key, "withdraw")
    else:
        # Outside the transaction: a used code stays used even if the request fails later.
        mfa_check(user=user, otp=otp)
    with transaction.atomic():
        asset = asset_active_get(symbol=asset_symbol)
        if not asset.withdrawal_enabled:
            raise WithdrawalsDisabled()
        wallet_amount_check(asset=asset, amount=amount)
        if amount < asset.withdrawal_min:
            message = (
                f"The minimum {asset.symbol} withdrawal is "
                f"{format_amount(asset.withdrawal_min, asset.decimals)} {asset.symbol}."
            )
            raise WithdrawalBelowMinimum(message, fields={"amount": [message]})
        address = _address_check(asset=asset, address=address)
        account = wallet_account_get(user=user)
        withdrawal = Withdrawal.objects.create(
            user=user,
            account=account,
            asset=asset,
            amount=amount,
            fee=asset.withdrawal_fee,
            address=address,
        )
        wallet_hold(
            account=account,
            asset=asset,
            amount=withdrawal.held,
            reference=f"withdrawal:{withdrawal.pk}",
        )
        audit_record(
            event="withdrawal.requested",
            user=user,
            request=request,
            withdrawal_id=withdrawal.pk,
            asset=asset.symbol,
            amount=format_decimal(amount),
            fee=format_decimal(withdrawal.fee),
            api_key_id=api_key.pk if api_key is not None else None,
        )
        if api_key is not None:
            audit_record(
                event="api_key.withdraw",
                user=user,
                request=request,
                api_key_id=api_key.pk,
                withdrawal_id=withdrawal.pk,
            )
        _after_commit(withdrawal, notify=False)
    return withdrawal


def _withdrawal_lock(*, withdrawal_id: int, user: User | None = None) -> Withdrawal:
    """SELECT ... FOR UPDATE the withdrawal (of ``user`` when given: another's is 404) and check
    it is still pending. Taken before any Balance lock."""
    queryset = Withdrawal.objects.select_for_update(no_key=True)
    if user is not None:
        queryset = queryset.filter(user=user)
    withdrawal = queryset.filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise NotFound("No such withdrawal.")
    if withdrawal.status != Withdrawal.Status.PENDING:
        raise WithdrawalNotPending(f"This withdrawal is {withdrawal.status}.")
    return withdrawal


def _withdrawal_release(
    withdrawal: Withdrawal, status: str, *, reason: str = "", admin: User | None = None
) -> None:
    wallet_release(
        account=withdrawal.account,
        asset=withdrawal.asset,
        amount=withdrawal.held,
        reference=f"withdrawal:{withdrawal.pk}",
    )
    withdrawal.status = status
    withdrawal.reason = reason[:200]
    withdrawal.decided_by = admin
    withdrawal.updated_at = timezone.now()
    withdrawal.save(update_fields=["status", "reason", "decided_by", "updated_at"])


@transaction.atomic
def withdrawal_cancel(
    *, user: User, withdrawal_id: int, request: HttpRequest | None = None
) -> Withdrawal:
    """The user cancels a pending withdrawal: ``amount + fee`` is released exactly.
    404 for another user's id; ``withdrawal_not_pending`` (409) once decided."""
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id, user=user)
    _withdrawal_release(withdrawal, Withdrawal.Status.CANCELLED)
    audit_record(
        event="withdrawal.cancelled", user=user, request=request, withdrawal_id=withdrawal.pk
    )
    _after_commit(withdrawal, notify=False)
    return withdrawal


@transaction.atomic
def withdrawal_reject(
    *, withdrawal_id: int, admin: User, reason: str, request: HttpRequest | None = None
) -> Withdrawal:
    """An admin rejects a pending withdrawal with a ``reason`` the user is shown (required,
    at most 200 characters): ``amount + fee`` is released exactly."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        message = "Say why, in at most 200 characters: the user is shown it."
        raise InvalidInput(message, fields={"reason": [message]})
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id)
    _withdrawal_release(withdrawal, Withdrawal.Status.REJECTED, reason=reason, admin=admin)
    audit_record(
        event="withdrawal.rejected",
        user=withdrawal.user,
        actor=admin,
        request=request,
        withdrawal_id=withdrawal.pk,
        reason=reason,
    )
    _after_commit(withdrawal, notify=True)
    return withdrawal


@transaction.atomic
def withdrawal_complete(
    *, withdrawal_id: int, admin: User, txid: str, request: HttpRequest | None = None
) -> Withdrawal:
    """An admin marks a pending withdrawal sent, with the chain's transaction id ``txid`` the
    user is shown (8-100 printable characters, no spaces): the locked amount goes to the
    external account and the fee to the fee account (one ``withdrawal`` journal)."""
    txid = (txid or "").strip()
    if not TXID_PATTERN.fullmatch(txid):
        message = "Paste the transaction id: 8-100 characters without spaces."
        raise InvalidInput(message, fields={"txid": [message]})
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id)
    external = wallet_system_account(kind=Account.Kind.EXTERNAL)
    legs = [
        Leg(withdrawal.account_id, withdrawal.asset_id, Bucket.LOCKED, -withdrawal.held),
        Leg(external.pk, withdrawal.asset_id, Bucket.AVAILABLE, withdrawal.amount),
    ]
    if withdrawal.fee > 0:
        fee_account = wallet_system_account(kind=Account.Kind.FEE)
        legs.append(Leg(fee_account.pk, withdrawal.asset_id, Bucket.AVAILABLE, withdrawal.fee))
    ledger_post(
        postings=[
            Posting(
                kind=JournalTransaction.Kind.WITHDRAWAL,
                reference=f"withdrawal:{withdrawal.pk}",
                legs=legs,
            )
        ]
    )
    withdrawal.status = Withdrawal.Status.COMPLETED
    withdrawal.txid = txid
    withdrawal.decided_by = admin
    withdrawal.updated_at = timezone.now()
    withdrawal.save(update_fields=["status", "txid", "decided_by", "updated_at"])
    audit_record(
        event="withdrawal.completed",
        user=withdrawal.user,
        actor=admin,
        request=request,
        withdrawal_id=withdrawal.pk,
        txid=txid,
    )
    _after_commit(withdrawal, notify=True)
    return withdrawal
