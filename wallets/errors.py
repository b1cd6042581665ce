"""Domain errors of wallets (codes are listed in docs/api.md, "Wallet")."""

from __future__ import annotations

from tradehive.errors import Conflict, DomainError, Forbidden, InvalidInput


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status = 400
    default_message = "Insufficient funds."


class UnknownAsset(InvalidInput):
    code = "unknown_asset"
    default_message = "Unknown or inactive asset."

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        kwargs.setdefault("fields", {"asset": [message or self.default_message]})
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class DepositsDisabled(Forbidden):
    code = "deposits_disabled"
    default_message = "Deposits of this asset are disabled."


class WithdrawalsDisabled(Forbidden):
    code = "withdrawals_disabled"
    default_message = "Withdrawals of this asset are disabled."


class DepositLimitExceeded(DomainError):
    code = "deposit_limit_exceeded"
    status = 400
    default_message = "This deposit would exceed today's deposit limit for this asset."


class InvalidAddress(InvalidInput):
    code = "invalid_address"
    default_message = "This address is not valid for the asset."


class WithdrawalBelowMinimum(InvalidInput):
    code = "withdrawal_below_minimum"
    default_message = "The amount is below the asset's minimum withdrawal."


class WithdrawalNotPending(Conflict):
    code = "withdrawal_not_pending"
    default_message = "Only a pending withdrawal can be changed."
