"""Order reads: my orders, my fills, the last trade price of a market."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from accounts.models import User
from markets.models import Trade, TradingPair
from orders import sql
from orders.models import CLOSED_STATUSES, OPEN_STATUSES, Fill, Order
from tradehive.db_router import read_alias
from tradehive.money import decimal_places
from tradehive.sql import prepared_cursor


def order_list_for_user(
    *,
    user: User,
    symbol: str | None = None,
    status: str = "all",
    side: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Order]:
    """``status``: ``open`` (pending, untriggered, open, partially filled), ``closed``,
    ``all``, or one closed status (``filled``, ``cancelled``, ``rejected``); ``side`` and the
    creation time (``created_from`` <= t < ``created_before``) narrow it further. Newest first;
    the caller paginates. The user's sub-accounts' orders (copy-trading mirrors, marked
    ``copied_from``) are the user's too."""
    owners = User.objects.filter(Q(pk=user.pk) | Q(parent_id=user.pk)).values("pk")
    orders = Order.objects.filter(user__in=owners).select_related(
        "pair", "pair__base", "pair__quote"
    )
    if symbol:
        orders = orders.filter(pair__symbol=symbol.strip().upper())
    if status == "open":
        orders = orders.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        orders = orders.filter(status__in=CLOSED_STATUSES)
    elif status in CLOSED_STATUSES:
        orders = orders.filter(status=status)
    if side:
        orders = orders.filter(side=side)
    if created_from is not None:
        orders = orders.filter(created_at__gte=created_from)
    if created_before is not None:
        orders = orders.filter(created_at__lt=created_before)
    return orders.order_by("-id")


def order_get_for_user(*, user: User, order_id: int) -> Order | None:
    return (
        Order.objects.select_related("pair", "pair__base", "pair__quote")
        .filter(user=user, pk=order_id)
        .first()
    )


def fill_list_for_user(
    *,
    user: User,
    symbol: str | None = None,
    side: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Fill]:
    """The user's fills, newest first, narrowed like ``order_list_for_user``."""
    fills = Fill.objects.filter(user=user).select_related(
        "pair", "fee_asset", "pair__base", "pair__quote"
    )
    if symbol:
        fills = fills.filter(pair__symbol=symbol.strip().upper())
    if side:
        fills = fills.filter(side=side)
    if created_from is not None:
        fills = fills.filter(created_at__gte=created_from)
    if created_before is not None:
        fills = fills.filter(created_at__lt=created_before)
    return fills.order_by("-id")


@dataclass(frozen=True)
class PublicFill:
    """A fill as a public profile shows it: no order, fee or counterparty."""

    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    price_places: int  # the market's (``TradingPair.price_places``)
    quantity_places: int
    created_at: datetime


def fill_list_older_than(*, user_id: int, before: datetime, limit: int) -> list[PublicFill]:
    """A user's newest fills dated before ``before`` (public profiles show fills only after a
    delay), newest first. Walks ``fill_user_recent`` backwards, so it reads few rows. Raw and
    prepared (``sql.public_fills_sql``): every profile view reads it, and building and loading the
    ORM's query with its market took longer than running it."""
    with prepared_cursor(read_alias(Fill)) as cursor:
        cursor.execute(
            sql.public_fills_sql(), {"user_id": user_id, "before": before, "limit": limit}
        )
        return [
            PublicFill(
                symbol=symbol,
                side=side,
                price=price,
                quantity=quantity,
                price_places=decimal_places(tick_size),
                quantity_places=decimal_places(lot_size),
                created_at=created_at,
            )
            for symbol, side, price, quantity, tick_size, lot_size, created_at in cursor
        ]


def last_trade_price(*, pair: TradingPair) -> Decimal | None:
    """The price of the market's latest trade (None before its first)."""
    return (
        Trade.objects.filter(pair=pair)
        .order_by("-sequence")
        .values_list("price", flat=True)
        .first()
    )


def open_orders_for_rebuild(*, pair: TradingPair) -> list[Order]:
    """The market's orders the engine should hold: accepted, not closed, in engine priority."""
    return list(
        Order.objects.filter(pair=pair, engine_seq__isnull=False, status__in=OPEN_STATUSES)
        .select_related("pair")
        .order_by("engine_seq")
    )


def order_open_holds() -> dict[tuple[int, int], Decimal]:
    """What open orders hold, per (wallet account id, asset id), for ``ledger_check``."""
    from django.db.models import Case, F, Sum, When

    from wallets.models import Account

    accounts = dict(Account.objects.filter(user__isnull=False).values_list("user_id", "id"))
    rows = (
        Order.objects.filter(hold_remaining__gt=0)
        .annotate(
            asset_id=Case(When(side="buy", then=F("pair__quote_id")), default=F("pair__base_id"))
        )
        .values("user_id", "asset_id")
        .annotate(total=Sum("hold_remaining"))
    )
    return {(accounts[row["user_id"]], row["asset_id"]): row["total"] for row in rows}
