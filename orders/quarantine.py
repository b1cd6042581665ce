"""Orders the engine can never take, taken out of the flow: rejected or cancelled with their hold
released, counted on their outbox row, audited (``order_quarantine``)."""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import Case, F, QuerySet, When
from django.utils import timezone

from accounts.audit import audit_record
from orders.engine_orders import order_engine_refusal, order_quarantine_reason
from orders.models import CLOSED_STATUSES, OPEN_STATUSES, Order, OrderOutbox, OrderStatus, Side
from orders.notifications import order_ended_notify
from wallets.ledger import BucketMove, Posting, ledger_post
from wallets.models import Bucket, JournalTransaction
from wallets.services import wallet_account_id_get

logger = logging.getLogger(__name__)


def order_quarantine(*, order_id: int, reason: str, detail: str, rebuilding: bool = False) -> bool:
    """Take an order the engine can never hold out of the flow: release what it holds through
    the ledger and close it with ``reason`` (a ``CancelReason``). A pending order (the engine
    never acknowledged it) becomes ``rejected``. With ``rebuilding`` (the market's recovery,
    which holds its cursor lock and rebuilds the engine's state without this order) an open or
    untriggered order may be closed too, as ``cancelled``. Its outbox row is kept, or written,
    marked quarantined (the durable count; the relay skips it). Owns its transaction (a
    savepoint in the caller's); locks the order row, then the balance (``ledger_post``): the
    order of settlement's locks.

    Returns False, changing nothing, when the order is not in a status it may close. Logs a
    warning, writes the audit event ``order.quarantined`` and, after commit, tells the user
    (``orders.notifications``)."""
    now = timezone.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("pair", "pair__base", "pair__quote", "user")
            .filter(pk=order_id)
            .first()
        )
        closable = OPEN_STATUSES if rebuilding else (OrderStatus.PENDING,)
        if order is None or order.status not in closable:
            return False
        released = order.hold_remaining
        if released > 0:
            pair = order.pair
            asset_id = pair.quote_id if order.side == Side.BUY else pair.base_id
            release = BucketMove(
                asset_id=asset_id,
                amount=released,
                from_bucket=Bucket.LOCKED,
                kind=JournalTransaction.Kind.RELEASE,
            )
            ledger_post(
                postings=[
                    Posting(
                        kind=release.kind,
                        reference=f"order:{order.pk}",
                        legs=release.legs(wallet_account_id_get(user=order.user)),
                    )
                ]
            )
        order.status = (
            OrderStatus.REJECTED if order.status == OrderStatus.PENDING else OrderStatus.CANCELLED
        )
        order.cancel_reason = reason
        order.hold_remaining = Decimal(0)
        order.save(update_fields=["status", "cancel_reason", "hold_remaining", "updated_at"])
        OrderOutbox.objects.update_or_create(
            order=order, defaults={"quarantined_at": now, "quarantine_reason": detail[:300]}
        )
        transaction.on_commit(partial(order_ended_notify, order=order), robust=True)
        audit_record(
            event="order.quarantined",
            user=order.user,
            order_id=order.pk,
            symbol=order.pair.symbol,
            status=order.status,
            reason=reason,
            detail=detail[:300],
            released=str(released),
        )
        quarantined = OrderOutbox.objects.filter(quarantined_at__isnull=False).count()
    logger.warning(
        "order %s quarantined (%s): %s; released %s; %d quarantined in all",
        order_id,
        reason,
        detail,
        released,
        quarantined,
    )
    return True


def _pending_unacknowledged() -> QuerySet[Order]:
    return (
        Order.objects.filter(status=OrderStatus.PENDING, engine_seq__isnull=True)
        .select_related("pair", "pair__base", "pair__quote")
        .order_by("pk")
    )


def orders_stuck_quarantine() -> list[int]:
    """Quarantine every pending order the engine never acknowledged and can never take (written
    before placement checked the engine's range, or left off the grid by a market's new tick):
    each is rejected and its hold released (``order_quarantine``). Returns their ids.
    Idempotent; what the engine can take is left to the relay."""
    quarantined = []
    for order in _pending_unacknowledged().iterator(chunk_size=500):
        refusal = order_engine_refusal(order)
        if refusal is not None and order_quarantine(
            order_id=order.pk, reason=order_quarantine_reason(refusal), detail=str(refusal)
        ):
            quarantined.append(order.pk)
    return quarantined


def order_holds_never_settling() -> list[tuple[int, str]]:
    """Holds no engine event will ever release, for ``ledger_check``: funds still held by a
    closed order, and pending orders the engine can never take. (held asset id, detail) per
    order."""
    problems = [
        (asset_id, f"order {order_id} is {status} but still holds {amount}")
        for order_id, status, amount, asset_id in Order.objects.filter(
            status__in=CLOSED_STATUSES, hold_remaining__gt=0
        )
        .annotate(
            asset_id=Case(When(side=Side.BUY, then=F("pair__quote_id")), default=F("pair__base_id"))
        )
        .order_by("pk")
        .values_list("pk", "status", "hold_remaining", "asset_id")
    ]
    for order in _pending_unacknowledged().filter(hold_remaining__gt=0).iterator(chunk_size=500):
        refusal = order_engine_refusal(order)
        if refusal is not None:
            asset_id = order.pair.quote_id if order.side == Side.BUY else order.pair.base_id
            problems.append(
                (
                    asset_id,
                    f"order {order.pk} is pending and holds "
                    f"{order.hold_remaining}, but the engine can never take it: "
                    f"{refusal}",
                )
            )
    return problems
