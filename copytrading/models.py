"""Copy trading (docs/copytrading.md): leaders, followers' subscriptions, the intents that
mirror a leader's fills, each follower's copy of each intent, and profit-share settlements.

A subscription's money lives in its own sub-account (``accounts.User`` with ``parent`` = the
follower): its balances, orders and fills are ordinary ones, so a copy goes through the same
placement, holds, engine and settlement as any order, and each subscription's result is exact."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from wallets.models import money_field

MAX_PROFIT_SHARE = Decimal("0.30")


def _rate_field(**options: object) -> models.DecimalField:
    return models.DecimalField(max_digits=6, decimal_places=4, **options)  # type: ignore[arg-type]


class Leader(models.Model):
    """A public trader others may copy. One row per user, kept when they stop leading (the
    history of subscriptions and profit share points at it)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        STOPPED = "stopped"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="copy_leader"
    )
    profit_share_rate = _rate_field(
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(MAX_PROFIT_SHARE)],
        help_text="Share of a follower's new profit the leader earns (0-0.30).",
    )
    min_copy_amount = money_field(default=Decimal(0))
    max_followers = models.PositiveIntegerField(default=1000)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(profit_share_rate__gte=0) & Q(profit_share_rate__lte=MAX_PROFIT_SHARE),
                name="copy_leader_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return f"leader:{self.user_id}"


class Subscription(models.Model):
    """A follower copying a leader with an allocation of ``asset`` (the quote asset of the
    markets it copies) held in the sub-account ``account_user``."""

    class Mode(models.TextChoices):
        FIXED_RATIO = "fixed_ratio"  # each copy sized by the leader order's share of equity
        FIXED_AMOUNT = "fixed_amount"  # each buy costs ``fixed_amount``

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"  # no new copies; the allocation stays
        CLOSING = "closing"  # selling back to the quote asset, then stopped
        STOPPED = "stopped"

    class StopReason(models.TextChoices):
        FOLLOWER = "follower"
        LEADER_STOPPED = "leader_stopped"
        STOP_LOSS = "stop_loss"
        ADMIN = "admin"

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="copy_subscriptions"
    )
    leader = models.ForeignKey(Leader, on_delete=models.PROTECT, related_name="subscriptions")
    account_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="copy_allocation"
    )
    asset = models.ForeignKey("wallets.Asset", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FIXED_RATIO)
    fixed_amount = money_field(null=True, blank=True)
    max_order_quote = money_field(null=True, blank=True)
    # Market symbols copied; empty means every market quoted in ``asset``.
    markets = models.JSONField(default=list, blank=True)
    stop_loss = _rate_field(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(1))],
        help_text="Stop when the allocation has lost this fraction of what was put in.",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    # Money put in and taken out (the asset's units), the high-water mark of the allocation's
    # value for profit share, and what has been paid to the leader.
    allocated = money_field(default=Decimal(0))
    withdrawn = money_field(default=Decimal(0))
    high_water_mark = money_field(default=Decimal(0))
    profit_share_paid = money_field(default=Decimal(0))
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One live subscription per follower and leader.
            models.UniqueConstraint(
                fields=["follower", "leader"],
                condition=~Q(status="stopped"),
                name="copy_one_live_subscription_per_leader",
            ),
        ]
        indexes = [models.Index(fields=["leader", "status"], name="copy_sub_leader_status")]

    def __str__(self) -> str:
        return f"copy:{self.pk} {self.follower_id}->{self.leader_id}"


class CopyIntent(models.Model):
    """One leader fill to mirror, written in the transaction that settled the fill (so it is
    never lost nor written twice) and processed off the request path, in ``chunks`` parts:
    part ``n`` copies the active subscriptions whose id modulo ``chunks`` is ``n``, each part in
    its own transaction (``CopyChunk``). Done when every part is."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    leader_fill = models.OneToOneField(
        "orders.Fill", on_delete=models.PROTECT, related_name="copy_intent"
    )
    leader = models.ForeignKey(Leader, on_delete=models.PROTECT, related_name="intents")
    leader_order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    pair = models.ForeignKey("markets.TradingPair", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4)
    price = money_field()
    quantity = money_field()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    chunks = models.PositiveSmallIntegerField(default=1)
    chunks_done = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # When the last part committed: every copy placed.
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="copy_intent_pending",
            )
        ]

    def __str__(self) -> str:
        return f"intent:{self.pk} fill:{self.leader_fill_id}"


class CopyChunk(models.Model):
    """One part of an intent, mirrored: written first in that part's transaction, so the part
    happens once (a second worker on it waits for the first and then finds it) and entirely
    (it commits with its copies or not at all)."""

    intent = models.ForeignKey(CopyIntent, on_delete=models.PROTECT, related_name="done_chunks")
    number = models.PositiveSmallIntegerField()
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["intent", "number"], name="copy_chunk_once")]

    def __str__(self) -> str:
        return f"intent:{self.intent_id} chunk:{self.number}"


class CopyOrder(models.Model):
    """What one subscription did with one intent: the order placed, or why it was skipped."""

    class Status(models.TextChoices):
        PLACED = "placed"
        SKIPPED = "skipped"

    intent = models.ForeignKey(CopyIntent, on_delete=models.PROTECT, related_name="copies")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="copies")
    order = models.OneToOneField(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="copy"
    )
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "subscription"], name="copy_once_per_intent")
        ]
        indexes = [models.Index(fields=["subscription", "-id"], name="copy_order_sub_recent")]

    def __str__(self) -> str:
        return f"copy:{self.subscription_id} intent:{self.intent_id} {self.status}"


class ProfitShare(models.Model):
    """One profit-share settlement of a subscription: what the allocation was worth, the mark
    before and after, and what moved to the leader (through the ledger)."""

    class Trigger(models.TextChoices):
        PERIODIC = "periodic"
        STOP = "stop"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="profit_shares"
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    value = money_field()
    mark_before = money_field()
    mark_after = money_field()
    amount = money_field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"profit share:{self.subscription_id} {self.amount}"


class MarketCopySetting(models.Model):
    """A market's own slippage cap for copies (else ``COPY_SLIPPAGE``)."""

    pair = models.OneToOneField(
        "markets.TradingPair", on_delete=models.CASCADE, related_name="copy_setting"
    )
    slippage = _rate_field(
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.2"))],
        help_text="A copy's limit is the leader's price moved this fraction against the follower.",
    )

    def __str__(self) -> str:
        return f"copy slippage {self.pair_id}"
