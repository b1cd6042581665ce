"""Copy trading as the API and the pages show it (plain dicts, decimal strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrading.models import CopyOrder, Leader, ProfitShare, Subscription
from copytrading.selectors import LeaderStats, Results
from tradehive.money import format_decimal, iso_ms


def _money(value: Decimal, places: int) -> str:
    return format_decimal(value, places)


def leader_payload(
    leader: Leader, *, places: int, stats: LeaderStats | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "handle": leader.user.handle,
        "is_bot": leader.user.is_bot,
        "status": leader.status,
        "profit_share_rate": format_decimal(leader.profit_share_rate),
        "min_copy_amount": _money(leader.min_copy_amount, places),
        "max_followers": leader.max_followers,
        "followers": getattr(leader, "followers", None) if stats is None else stats.followers,
        "started_at": iso_ms(leader.started_at),
    }
    if stats is not None:
        body["assets_under_copy"] = _money(stats.assets_under_copy, places)
        body["profit_share_earned"] = _money(stats.profit_share_earned, places)
    return body


def _optional(value: Decimal | None, places: int) -> str | None:
    return None if value is None else _money(value, places)


def subscription_payload(sub: Subscription, results: Results | None) -> dict[str, Any]:
    places = sub.asset.decimals
    body: dict[str, Any] = {
        "id": sub.pk,
        "leader": sub.leader.user.handle,
        "asset": sub.asset.symbol,
        "mode": sub.mode,
        "fixed_amount": _optional(sub.fixed_amount, places),
        "max_order_quote": _optional(sub.max_order_quote, places),
        "markets": sub.markets,
        "stop_loss": None if sub.stop_loss is None else format_decimal(sub.stop_loss),
        "status": sub.status,
        "stop_reason": sub.stop_reason,
        "allocated": _money(sub.allocated, places),
        "withdrawn": _money(sub.withdrawn, places),
        "high_water_mark": _money(sub.high_water_mark, places),
        "profit_share_rate": format_decimal(sub.leader.profit_share_rate),
        "created_at": iso_ms(sub.created_at),
        "stopped_at": None if sub.stopped_at is None else iso_ms(sub.stopped_at),
    }
    if results is not None:
        body.update(
            value=_money(results.value, places),
            pnl=_money(results.pnl, places),
            return_pct=format_decimal(results.return_pct, 2),
            fees=_money(results.fees, places),
            profit_share_paid=_money(results.profit_share_paid, places),
            copies_placed=results.copies_placed,
            copies_skipped=results.copies_skipped,
        )
    return body


def copy_payload(copy: CopyOrder) -> dict[str, Any]:
    intent = copy.intent
    pair = intent.pair
    order = copy.order
    return {
        "id": copy.pk,
        "symbol": pair.symbol,
        "side": intent.side,
        "leader_order_id": intent.leader_order_id,
        "leader_price": _money(intent.price, pair.price_places),
        "leader_quantity": _money(intent.quantity, pair.quantity_places),
        "status": copy.status,
        "reason": copy.reason,
        "detail": copy.detail,
        "order_id": None if order is None else order.pk,
        "order_status": None if order is None else order.status,
        "filled_quantity": None
        if order is None
        else _money(order.filled_quantity, pair.quantity_places),
        "filled_quote": None if order is None else _money(order.filled_quote, pair.quote.decimals),
        "created_at": iso_ms(copy.created_at),
    }


def profit_share_payload(share: ProfitShare, places: int) -> dict[str, Any]:
    return {
        "id": share.pk,
        "trigger": share.trigger,
        "value": _money(share.value, places),
        "mark_before": _money(share.mark_before, places),
        "mark_after": _money(share.mark_after, places),
        "amount": _money(share.amount, places),
        "created_at": iso_ms(share.created_at),
    }


def copy_terms_for_profile(user_id: int) -> dict[str, object] | None:
    """What a trader's public profile shows under "Copy this trader" (the rankings' copy terms
    provider), or None when they do not lead."""
    from django.conf import settings
    from django.urls import reverse

    from copytrading.selectors import leader_list
    from wallets.selectors import asset_active_get

    leader = leader_list().filter(user_id=user_id).first()
    if leader is None:
        return None
    asset = asset_active_get(symbol=settings.COPY_ASSET)
    return {
        "profit_share_pct": f"{(leader.profit_share_rate * 100).normalize():f}",
        "min_copy_amount": _money(leader.min_copy_amount, asset.decimals),
        "asset": asset.symbol,
        "followers": leader.followers,  # type: ignore[attr-defined]
        "max_followers": leader.max_followers,
        "follow_url": reverse("copytrading:follow", args=[leader.user.handle]),
    }
