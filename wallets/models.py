"""Assets, accounts that hold balances, balances and the double-entry ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict, Unpack

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tradehive.money import format_decimal

# Every money column: 38 digits, 18 decimals (covers 18-decimal tokens and KRW trillions).
MONEY_DIGITS = 38
MONEY_PLACES = 18


class MoneyFieldOptions(TypedDict, total=False):
    default: Decimal
    null: bool
    blank: bool


def money_field(**options: Unpack[MoneyFieldOptions]) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **options)


class Asset(models.Model):
    """A currency or coin. ``decimals`` is the finest unit users can hold or move."""

    symbol = models.CharField(
        max_length=10,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,10}$", "2-10 upper-case letters or digits.")],
    )
    name = models.CharField(max_length=50)
    decimals = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(MONEY_PLACES)]
    )
    is_active = models.BooleanField(default=True)
    deposit_enabled = models.BooleanField(default=True)
    withdrawal_enabled = models.BooleanField(default=True)
    withdrawal_fee = money_field(default=Decimal(0))
    withdrawal_min = money_field(default=Decimal(0))
    # Regex a withdrawal address must match (per chain); empty means "any 8-100 printable chars".
    address_pattern = models.CharField(max_length=200, blank=True)
    # What a valid address looks like, in words for the withdrawal form ("starts with bc1, 1 or
    # 3"); empty: the form says only that the address must be this asset's.
    address_hint = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class Account(models.Model):
    """Something that holds balances: one per user, plus one system account per non-user kind.

    ``external`` is the outside world (deposits come from it, withdrawals go to it); it is the
    only account whose balances may go negative."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        FEE = "fee", "Fee income"
        HOUSE = "house", "House liquidity"
        EXTERNAL = "external", "External world"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USER)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wallet_account",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=~Q(kind="user"),
                name="wallets_one_system_account_per_kind",
            ),
            models.CheckConstraint(
                condition=(Q(kind="user") & Q(user__isnull=False))
                | (~Q(kind="user") & Q(user__isnull=True)),
                name="wallets_account_user_iff_user_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.USER:
            return f"user:{self.user_id}"
        return self.kind

    @property
    def may_go_negative(self) -> bool:
        return self.kind == self.Kind.EXTERNAL


class Bucket(models.TextChoices):
    AVAILABLE = "available", "Available"
    LOCKED = "locked", "Locked"


class Balance(models.Model):
    """What one account holds of one asset. Changed only by ``wallets.ledger.ledger_post``.

    ``may_go_negative`` copies ``account.may_go_negative`` so that a CHECK constraint (which cannot
    join) enforces "never negative" for every other account in the database itself."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="balances")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="balances")
    available = money_field(default=Decimal(0))
    locked = money_field(default=Decimal(0))
    may_go_negative = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="wallets_balance_unique"),
            models.CheckConstraint(
                condition=Q(may_go_negative=True) | (Q(available__gte=0) & Q(locked__gte=0)),
                name="wallets_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        available, locked = format_decimal(self.available), format_decimal(self.locked)
        return f"{self.account} {self.asset_id}: {available} + {locked} locked"

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


class JournalTransaction(models.Model):
    """One movement of money: two or more ``LedgerEntry`` rows that sum to zero per asset.

    Append-only: nothing updates or deletes journals or entries."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        HOLD = "hold", "Hold"
        RELEASE = "release", "Release"
        TRADE = "trade", "Trade"
        FEE = "fee", "Fee"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER = "transfer", "Transfer"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What caused it, "<noun>:<id>": "order:123", "withdrawal:5", "fill:BTC-KRW:77".
    reference = models.CharField(max_length=100, db_index=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.reference}"


class LedgerEntry(models.Model):
    """One signed change of one bucket of one balance; ``balance_after`` is that bucket after it."""

    journal = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    # account is indexed by the composite indexes in Meta; entries are never looked up by asset
    # alone (ledger_check scans them all). Settlement inserts thousands a second.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    bucket = models.CharField(max_length=9, choices=Bucket.choices)
    amount = money_field()
    balance_after = money_field()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["account", "asset", "-id"], name="wallets_entry_acct_asset"),
            models.Index(fields=["account", "-id"], name="wallets_entry_account"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="wallets_entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        sign = "+" if self.amount >= 0 else ""
        return f"{self.account} {self.asset_id} {self.bucket} {sign}{format_decimal(self.amount)}"


class Deposit(models.Model):
    """A simulated on-chain deposit; credited at once (demo mode), so it is born ``credited``."""

    class Status(models.TextChoices):
        CREDITED = "credited", "Credited"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="deposits")
    amount = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREDITED)
    # Its journal carries reference "deposit:<id>".
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "asset", "created_at"], name="wallets_deposit_daily")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallets_deposit_positive"),
        ]

    def __str__(self) -> str:
        return f"deposit #{self.pk} {format_decimal(self.amount)} {self.asset_id}"


class Withdrawal(models.Model):
    """A withdrawal request. While ``pending``, ``amount + fee`` is held in the user's locked
    bucket; an admin completes or rejects it, or the user cancels it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="withdrawals")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="withdrawals")
    amount = money_field()
    fee = money_field(default=Decimal(0))
    address = models.CharField(max_length=120)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reason = models.CharField(max_length=200, blank=True)
    # The chain's transaction id of a completed withdrawal, as the admin who sent it gave it.
    txid = models.CharField(max_length=100, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(fee__gte=0), name="wallets_withdrawal_amounts"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"withdrawal #{self.pk} {format_decimal(self.amount)} {self.asset_id} ({self.status})"
        )

    @property
    def held(self) -> Decimal:
        return self.amount + self.fee
