"""Assets, accounts that hold balances, balances and the double-entry ledger."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# Every money column: 38 digits, 18 decimals (covers 18-decimal tokens and KRW trillions).
MONEY_DIGITS = 38
MONEY_PLACES = 18


def money_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class Asset(models.Model):
    """A currency or coin. ``decimals`` is the finest unit users can hold or move."""

    symbol = models.CharField(
        max_length=10, unique=True,
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

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol
