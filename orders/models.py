"""Orders, their fills, and the outbox that guarantees every committed order reaches the engine."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from wallets.models import money_field


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class OrderType(models.TextChoices):
    LIMIT = "limit"
    MARKET = "market"
    STOP_LIMIT = "stop_limit"
    STOP_MARKET = "stop_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"


# The types that take a limit price; the others are market types (no price, IOC by nature).
PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
# Trigger types wait (``untriggered``) until the last price reaches their ``stop_price``: a stop
# when the price moves against the order's side, a take-profit when it moves for it
# (``engine.engine.triggers_on_rise``).
TAKE_PROFIT_TYPES = frozenset({OrderType.TAKE_PROFIT_LIMIT, OrderType.TAKE_PROFIT_MARKET})
TRIGGER_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.STOP_MARKET}) | TAKE_PROFIT_TYPES


class TimeInForce(models.TextChoices):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(models.TextChoices):
    PENDING = "pending"  # committed, not yet acknowledged by the engine
    UNTRIGGERED = "untriggered"  # a stop or take-profit waiting for its stop price
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


OPEN_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.UNTRIGGERED,
    OrderStatus.OPEN,
    OrderStatus.PARTIALLY_FILLED,
)
CLOSED_STATUSES = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class CancelReason(models.TextChoices):
    USER = "user"
    IOC = "ioc"
    FOK = "fok"
    SELF_TRADE = "self_trade"
    MARKET_HALTED = "market_halted"
    INSUFFICIENT_LIQUIDITY = "insufficient_liquidity"
    ADMIN = "admin"
    WOULD_TAKE = "would_take"
    # Quarantined by the outbox relay: the engine can never take the order as written.
    OUT_OF_RANGE = "out_of_range"  # a value or product beyond the engine's integers
    INVALID_PRECISION = "invalid_precision"  # off the market's current tick or lot
    ENGINE_REFUSED = "engine_refused"  # the engine's scripts refused it, again and again


class Order(models.Model):
    """One order. Money columns are exact decimals; ``held``/``hold_remaining`` track the funds
    this order locked (quote for buys, base for sells) so that ``locked`` always equals the sum
    of open holds (``ledger_check``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    # user and pair are indexed by the composite indexes in Meta (and the client id constraint);
    # settlement rewrites orders thousands of times a second, so no index is kept twice.
    pair = models.ForeignKey(
        "markets.TradingPair", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    # NULL (not ""): many orders have none, and the per-user unique constraint skips NULLs.
    client_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=18, choices=OrderType.choices)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC
    )
    post_only = models.BooleanField(default=False)
    price = money_field(null=True, blank=True)
    stop_price = money_field(null=True, blank=True)
    quantity = money_field(null=True, blank=True)
    quote_amount = money_field(null=True, blank=True)
    filled_quantity = money_field(default=Decimal(0))
    filled_quote = money_field(default=Decimal(0))
    fee_paid = money_field(default=Decimal(0))
    held = money_field(default=Decimal(0))
    hold_remaining = money_field(default=Decimal(0))
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    cancel_reason = models.CharField(max_length=24, choices=CancelReason.choices, blank=True)
    stp_mode = models.CharField(
        max_length=12,
        default="expire_taker",
        help_text="Self-trade prevention: expire_taker|maker|both.",
    )
    # A copy-trading mirror of this leader's order (docs/copytrading.md). No index: the copy
    # records (copytrading.CopyOrder) are what is searched; this is shown with the order.
    copied_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="copies",
        db_index=False,
    )
    engine_seq = models.BigIntegerField(
        null=True, blank=True, help_text="Engine sequence at acceptance (book priority)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=Q(client_order_id__isnull=False),
                name="order_client_id_unique_per_user",
            ),
            models.CheckConstraint(condition=Q(filled_quantity__gte=0), name="order_filled_nonneg"),
            models.CheckConstraint(condition=Q(hold_remaining__gte=0), name="order_hold_nonneg"),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="order_user_status"),
            models.Index(fields=["pair", "status"], name="order_pair_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.type} {self.pair_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled_quantity:
            return None
        return self.filled_quote / self.filled_quantity


class Fill(models.Model):
    """One side of one trade, as the order's owner sees it (API.md ``fills``)."""

    class Liquidity(models.TextChoices):
        MAKER = "maker"
        TAKER = "taker"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    # user and pair are indexed by fill_user_recent and fill_once_per_engine_event.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fills", db_index=False
    )
    pair = models.ForeignKey(
        "markets.TradingPair", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    engine_seq = models.BigIntegerField()
    side = models.CharField(max_length=4, choices=Side.choices)
    price = money_field()
    quantity = money_field()
    quote_quantity = money_field()
    fee = money_field()
    fee_asset = models.ForeignKey(
        "wallets.Asset", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices)
    # The engine's time of the fill (settlement passes it), not the insert's: no auto_now_add,
    # which would overwrite it on every backend's ORM insert.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Exactly once: one maker and one taker fill per engine fill event.
            models.UniqueConstraint(
                fields=["pair", "engine_seq", "liquidity"], name="fill_once_per_engine_event"
            ),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="fill_user_recent")]

    def __str__(self) -> str:
        return f"fill {self.engine_seq} {self.side} {self.quantity}@{self.price}"


class OrderOutbox(models.Model):
    """Written with the order in one transaction; cleared once the engine has the order.

    A relay re-submits rows older than a few seconds (a crash between commit and submit), and
    the engine ignores order ids it has seen, so re-submission is safe. A row the engine can
    never take is quarantined instead (``orders.quarantine.order_quarantine``): its order is
    rejected and its hold released, and the row stays, with ``quarantined_at`` and the reason,
    as the durable count of quarantined orders; the relay skips it."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="outbox")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    # db_default: placement's one statement inserts outbox rows naming only the columns above.
    quarantine_reason = models.CharField(max_length=300, blank=True, db_default="")

    def __str__(self) -> str:
        return f"outbox {self.order_id}"
