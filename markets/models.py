"""Trading pairs and public market data (trades and OHLCV candles)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from tradehive.money import decimal_places
from wallets.models import MONEY_DIGITS, MONEY_PLACES, Asset

MAX_FEE = Decimal("0.05")
FEE_DIGITS = 10
FEE_PLACES = 8


def _money(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class TradingPair(models.Model):
    """A market: ``base`` is bought and sold, priced in ``quote``.

    ``symbol`` is derived from the assets (``BASE-QUOTE``) by ``clean()`` and the services."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        HALTED = "halted", "Halted (no new orders)"
        CANCEL_ONLY = "cancel_only", "Cancel only"

    BOOK = "book"

    symbol = models.CharField(max_length=21, unique=True, editable=False)
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="base_pairs")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quote_pairs")
    tick_size = _money(help_text="Price step, in the quote asset.")
    lot_size = _money(help_text="Quantity step, in the base asset.")
    min_notional = _money(default=Decimal(0), help_text="Smallest price x quantity, in quote.")
    maker_fee = models.DecimalField(
        max_digits=FEE_DIGITS,
        decimal_places=FEE_PLACES,
        default=Decimal("0.0005"),
        help_text="Fraction of the trade: 0.001 = 0.1% (max 0.05).",
    )
    taker_fee = models.DecimalField(
        max_digits=FEE_DIGITS,
        decimal_places=FEE_PLACES,
        default=Decimal("0.0015"),
        help_text="Fraction of the trade: 0.001 = 0.1% (max 0.05).",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    price_source = models.CharField(
        max_length=20,
        default=BOOK,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]{1,19}$", "Lower-case name, e.g. book, sim.")],
        help_text="'book': only users' trades set the price; else the price feed's name "
        "(sim, upbit, bithumb, ...).",
    )
    feed_symbol = models.CharField(
        max_length=30, blank=True, help_text="The market's symbol at the price feed, if it differs."
    )
    display_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_order", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote"], name="markets_pair_base_quote_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("quote")), name="markets_pair_base_is_not_quote"
            ),
            models.CheckConstraint(
                condition=models.Q(tick_size__gt=0, lot_size__gt=0, min_notional__gte=0),
                name="markets_pair_steps_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    maker_fee__gte=0,
                    maker_fee__lte=MAX_FEE,
                    taker_fee__gte=0,
                    taker_fee__lte=MAX_FEE,
                ),
                name="markets_pair_fees_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    @property
    def price_places(self) -> int:
        """Decimals a price of this market has (those of ``tick_size``)."""
        return decimal_places(self.tick_size)

    @property
    def quantity_places(self) -> int:
        """Decimals a quantity of this market has (those of ``lot_size``)."""
        return decimal_places(self.lot_size)

    @property
    def accepts_orders(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_feed_priced(self) -> bool:
        return self.price_source != self.BOOK

    def clean(self) -> None:
        """Derive the symbol and check steps and fees against the assets (also used by the
        services, so admin and code refuse the same things)."""
        errors: dict[str, list[str]] = {}
        base = self.base if self.base_id else None
        quote = self.quote if self.quote_id else None
        if base is not None and quote is not None:
            if base.pk == quote.pk:
                errors.setdefault("quote", []).append("Base and quote must differ.")
            self.symbol = f"{base.symbol}-{quote.symbol}"
        for name, asset in (("tick_size", quote), ("lot_size", base)):
            step = getattr(self, name)
            if step is None:
                continue
            if step <= 0:
                errors.setdefault(name, []).append("Must be greater than zero.")
            elif asset is not None and decimal_places(step) > asset.decimals:
                errors.setdefault(name, []).append(
                    f"{asset.symbol} has {asset.decimals} decimal places; "
                    f"{step.normalize():f} is finer than that."
                )
        tick, lot = self.tick_size, self.lot_size
        if (
            quote is not None
            and tick is not None
            and lot is not None
            and tick > 0
            and lot > 0
            and "tick_size" not in errors
            and "lot_size" not in errors
            and decimal_places(tick * lot) > quote.decimals
        ):
            # Every fill is a whole number of ticks times a whole number of lots; this keeps its
            # value a whole number of the quote's smallest unit, so settlement never rounds.
            errors.setdefault("lot_size", []).append(
                f"tick x lot = {(tick * lot).normalize():f} {quote.symbol} is finer than "
                f"{quote.symbol}'s {quote.decimals} decimal places; use a coarser tick or lot."
            )
        if self.min_notional is not None:
            if self.min_notional < 0:
                errors.setdefault("min_notional", []).append("Must be zero or more.")
            elif quote is not None and decimal_places(self.min_notional) > quote.decimals:
                errors.setdefault("min_notional", []).append(
                    f"{quote.symbol} has {quote.decimals} decimal places."
                )
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee is not None and not Decimal(0) <= fee <= MAX_FEE:
                errors.setdefault(name, []).append("Must be between 0 and 0.05 (5%).")
        if errors:
            raise ValidationError(errors)


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class Trade(models.Model):
    """One public fill. Written by settlement through ``markets.services.trades_record``.

    ``sequence`` is the engine's event sequence of the fill, unique per market: it orders trades
    (also inside one timestamp) and makes a replayed fill fail instead of counting twice. Order
    ids are plain integers: the feed is the counterparty of feed-priced fills, so an id may be
    missing."""

    # Indexed by the (pair, sequence) and (pair, created_at) indexes below; a third index on
    # pair alone would only slow settlement's inserts.
    pair = models.ForeignKey(
        TradingPair, on_delete=models.PROTECT, related_name="trades", db_index=False
    )
    sequence = models.BigIntegerField()
    price = _money()
    quantity = _money()
    quote_quantity = _money()
    taker_side = models.CharField(max_length=4, choices=Side.choices)
    maker_order_id = models.BigIntegerField(null=True, blank=True)
    taker_order_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "sequence"], name="markets_trade_pair_seq_unique"
            ),
        ]
        indexes = [models.Index(fields=["pair", "created_at"], name="markets_trade_pair_time")]

    def __str__(self) -> str:
        return f"{self.pair_id}#{self.sequence} {self.quantity}@{self.price}"


class Interval(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    D1 = "1d", "1 day"


class Candle(models.Model):
    """OHLCV of one market over one UTC-aligned ``bucket`` (its open time) of ``interval``.

    ``first_sequence``/``last_sequence`` are the engine sequences of the trades that set
    ``open``/``close``, so trades recorded out of order still give the right open and close."""

    pair = models.ForeignKey(TradingPair, on_delete=models.CASCADE, related_name="candles")
    interval = models.CharField(max_length=3, choices=Interval.choices)
    bucket = models.DateTimeField()
    open = _money()
    high = _money()
    low = _money()
    close = _money()
    volume = _money()
    quote_volume = _money()
    trade_count = models.PositiveIntegerField()
    first_sequence = models.BigIntegerField()
    last_sequence = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "interval", "bucket"],
                name="markets_candle_pair_interval_bucket_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pair_id} {self.interval} {self.bucket:%Y-%m-%d %H:%M}"
